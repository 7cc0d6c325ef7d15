"""The bundled sample store (Ridgeline Outfitters): run returnsbot with no credentials.

`SampleStore.load(now=...)` gives an in-memory store behind the same ports as Shopify
(`policy.ports.StoreSource` and `StoreActions`); `python -m integrations.sample.generate`
rewrites the bundled `sample_store.json`.
"""

from integrations.sample.store import SampleCall, SampleDataError, SampleStore

__all__ = ["SampleCall", "SampleDataError", "SampleStore"]
