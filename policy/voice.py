"""The brand's voice for customer replies (`[voice]` in the policy file).

Claude gets it in its (cached) system prompt; the deterministic templates use the brand
name and sign-off; the guardrails use the length bounds and the phrases to avoid.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic_core import PydanticCustomError

Phrase = Annotated[str, Field(min_length=1, max_length=200)]
Example = Annotated[str, Field(min_length=1, max_length=3000)]


class Voice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    brand_name: Annotated[str, Field(max_length=100)] = "our shop"
    tone: Annotated[str, Field(max_length=500)] = "warm, clear and brief; no jargon"
    sign_off: Annotated[str, Field(max_length=300)] = "The customer care team"
    use_phrases: tuple[Phrase, ...] = ()
    avoid_phrases: tuple[Phrase, ...] = ("unfortunately", "as per our policy")
    examples: tuple[Example, ...] = ()
    min_chars: Annotated[StrictInt, Field(ge=1, le=2000)] = 40
    max_chars: Annotated[StrictInt, Field(ge=100, le=10000)] = 1500

    @field_validator("examples")
    @classmethod
    def _one_or_two(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(v) > 2:
            raise PydanticCustomError("too_many_examples", "at most 2 example replies (they are sent with every draft)")
        return v

    @field_validator("max_chars")
    @classmethod
    def _bounds(cls, v: int, info) -> int:
        low = info.data.get("min_chars")
        if low is not None and v <= low:
            raise PydanticCustomError("length_order", "must be greater than min_chars ({low})", {"low": low})
        return v
