"""Every GraphQL document returnsbot sends to the Shopify Admin API (version 2025-01).

Each constant is a complete, self-contained document (its fragments included), so the
test suite can validate every entry of `ALL_DOCUMENTS` against the 2025-01 schema.
Besides `mapping.py`, this is the only module that spells Shopify field names.

Costs: Shopify charges a query by its *requested* cost (about 2 + first × per-item cost for
each connection) and refuses anything above 1,000 points, so page sizes below are chosen to
keep every document well under that (the fake computes the same estimate and the tests
assert it).

What 2025-01 does and does not have (checked against the introspection schema):
- `Return` has no createdAt/requestedAt; the request time is read from the order's
  events (see `mapping.requested_at`).
- Order risk is `risk { recommendation assessments { riskLevel facts { description sentiment } } }`.
- Orders can be filtered with `return_status:return_requested`; `Order.returns` takes a
  `status:` filter.
- `Order.disputes` only gives `OrderDisputeSummary` (id, status, initiatedAs); amounts and
  reasons come from `ShopifyPaymentsDispute` through `nodes(ids:)`/`dispute(id:)`.
- `Customer.email` is deprecated in favour of `defaultEmailAddress`, which 2025-01 does
  not have yet, so `email` is used.
- `storeCreditAccountCredit(id:, creditInput:)` exists (id: the account or its owner).
- No mutation takes an idempotency key; see `source.py` for how retries stay safe.
"""

from __future__ import annotations

# --- fragments (concatenated into the documents that use them) ----------------------------

_MONEY_BAG = """
fragment MoneyBagFields on MoneyBag {
  shopMoney { amount currencyCode }
}
"""

_LINE_ITEM = """
fragment LineItemFields on LineItem {
  id
  title
  sku
  variantTitle
  quantity
  discountedUnitPriceAfterAllDiscountsSet { ...MoneyBagFields }
  product { id tags }
}
"""

_ORDER = """
fragment OrderFields on Order {
  id
  name
  createdAt
  updatedAt
  cancelledAt
  currencyCode
  presentmentCurrencyCode
  email
  tags
  displayFinancialStatus
  displayFulfillmentStatus
  returnStatus
  currentTotalPriceSet { ...MoneyBagFields }
  totalReceivedSet { ...MoneyBagFields }
  netPaymentSet { ...MoneyBagFields }
  totalRefundedSet { ...MoneyBagFields }
  customer { id }
  fulfillments(first: 10) {
    id
    status
    displayStatus
    createdAt
    inTransitAt
    deliveredAt
    estimatedDeliveryAt
    trackingInfo(first: 3) { company number url }
  }
  refunds(first: 25) {
    id
    createdAt
    updatedAt
    note
    totalRefundedSet { ...MoneyBagFields }
  }
  risk {
    recommendation
    assessments {
      riskLevel
      facts { description sentiment }
    }
  }
}
"""

_RETURN_CORE = """
fragment ReturnCoreFields on Return {
  id
  name
  status
  totalQuantity
  decline { reason note }
  order { id }
}
"""

_RETURN_LINE_ITEM = """
fragment ReturnLineItemFields on ReturnLineItemType {
  id
  quantity
  refundableQuantity
  returnReason
  returnReasonNote
  customerNote
  ... on ReturnLineItem {
    fulfillmentLineItem {
      id
      lineItem { ...LineItemFields }
    }
  }
  ... on UnverifiedReturnLineItem {
    unitPrice { amount currencyCode }
  }
}
"""

# The newest order events: the only place 2025-01 records when a return was requested.
_ORDER_EVENTS = """
fragment OrderEventFields on Order {
  id
  createdAt
  updatedAt
  events(first: 20, sortKey: CREATED_AT, reverse: true) {
    nodes { id createdAt action message }
  }
}
"""

_DISPUTE = """
fragment DisputeFields on ShopifyPaymentsDispute {
  id
  status
  type
  initiatedAt
  evidenceDueBy
  finalizedOn
  amount { amount currencyCode }
  reasonDetails { reason networkReasonCode }
  order { id }
}
"""

_USER_ERRORS = "userErrors { code field message }"

# --- reads ----------------------------------------------------------------------------------

SHOP_PING = """
query ShopPing {
  shop { name myshopifyDomain currencyCode }
}
"""

RETURN_BY_ID = (
    """
query ReturnById($id: ID!) {
  return(id: $id) {
    ...ReturnCoreFields
    order { ...OrderEventFields }
    returnLineItems(first: 50) {
      pageInfo { hasNextPage endCursor }
      nodes { ...ReturnLineItemFields }
    }
  }
}
"""
    + _RETURN_CORE
    + _ORDER_EVENTS
    + _RETURN_LINE_ITEM
    + _LINE_ITEM
    + _MONEY_BAG
)

RETURN_LINE_ITEMS_PAGE = (
    """
query ReturnLineItemsPage($id: ID!, $after: String) {
  return(id: $id) {
    id
    returnLineItems(first: 50, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...ReturnLineItemFields }
    }
  }
}
"""
    + _RETURN_LINE_ITEM
    + _LINE_ITEM
    + _MONEY_BAG
)

# Several returns in one round trip (customer history); keep batches at RETURNS_BATCH.
RETURNS_BY_IDS = (
    """
query ReturnsByIds($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    ... on Return {
      ...ReturnCoreFields
      order { ...OrderEventFields }
      returnLineItems(first: 10) {
        pageInfo { hasNextPage endCursor }
        nodes { ...ReturnLineItemFields }
      }
    }
  }
}
"""
    + _RETURN_CORE
    + _ORDER_EVENTS
    + _RETURN_LINE_ITEM
    + _LINE_ITEM
    + _MONEY_BAG
)
RETURNS_BATCH = 8

ORDER_RETURNS = (
    """
query OrderReturns($id: ID!, $after: String) {
  order(id: $id) {
    ...OrderEventFields
    returns(first: 10, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        ...ReturnCoreFields
        returnLineItems(first: 10) {
          pageInfo { hasNextPage endCursor }
          nodes { ...ReturnLineItemFields }
        }
      }
    }
  }
}
"""
    + _ORDER_EVENTS
    + _RETURN_CORE
    + _RETURN_LINE_ITEM
    + _LINE_ITEM
    + _MONEY_BAG
)

ORDER_BY_ID = (
    """
query OrderById($id: ID!) {
  order(id: $id) {
    ...OrderFields
    lineItems(first: 50) {
      pageInfo { hasNextPage endCursor }
      nodes { ...LineItemFields }
    }
  }
}
"""
    + _ORDER
    + _LINE_ITEM
    + _MONEY_BAG
)

ORDER_LINE_ITEMS_PAGE = (
    """
query OrderLineItemsPage($id: ID!, $after: String) {
  order(id: $id) {
    id
    lineItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...LineItemFields }
    }
  }
}
"""
    + _LINE_ITEM
    + _MONEY_BAG
)

# Lookups (`/order 1001`): ids only, each hit is then read with ORDER_BY_ID.
ORDER_SEARCH = """
query OrderSearch($query: String!, $first: Int!) {
  orders(first: $first, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes { id name createdAt }
  }
}
"""

CUSTOMER_BY_ID = """
query CustomerById($id: ID!) {
  customer(id: $id) {
    id
    displayName
    email
    tags
    numberOfOrders
    amountSpent { amount currencyCode }
    createdAt
  }
}
"""

# Orders touched since `since` (a return request updates its order), with their returns.
# `$query` is e.g. "updated_at:>='2025-01-01T00:00:00Z'".
CUSTOMER_HISTORY = """
query CustomerHistory($id: ID!, $query: String!, $after: String) {
  customer(id: $id) {
    id
    firstOrder: orders(first: 1, sortKey: CREATED_AT) {
      nodes { id createdAt }
    }
    orders(first: 50, after: $after, sortKey: CREATED_AT, query: $query) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        createdAt
        updatedAt
        returns(first: 5) {
          nodes { id status }
        }
      }
    }
  }
}
"""

DISPUTE_BY_ID = (
    """
query DisputeById($id: ID!) {
  dispute(id: $id) { ...DisputeFields }
}
"""
    + _DISPUTE
)

ORDER_DISPUTES = """
query OrderDisputes($id: ID!) {
  order(id: $id) {
    id
    disputes { id status initiatedAs }
  }
}
"""

DISPUTES_BY_IDS = (
    """
query DisputesByIds($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    ... on ShopifyPaymentsDispute { ...DisputeFields }
  }
}
"""
    + _DISPUTE
)

REFUND_BY_ID = (
    """
query RefundById($id: ID!) {
  refund(id: $id) {
    id
    createdAt
    updatedAt
    note
    totalRefundedSet { ...MoneyBagFields }
    order { id }
    return { id }
  }
}
"""
    + _MONEY_BAG
)

# --- polling (catch-up for missed webhooks) --------------------------------------------------

# `$query`: "created_at:>='…'"; oldest first so the cursor only moves forward.
ORDERS_CREATED_SINCE = """
query OrdersCreatedSince($query: String!, $after: String) {
  orders(first: 50, after: $after, sortKey: CREATED_AT, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes { id name createdAt updatedAt }
  }
}
"""

# `$query`: "return_status:return_requested updated_at:>='…'"; `$returnQuery`: "status:requested".
ORDERS_WITH_REQUESTED_RETURNS = """
query OrdersWithRequestedReturns($query: String!, $returnQuery: String!, $after: String) {
  orders(first: 25, after: $after, sortKey: UPDATED_AT, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      name
      updatedAt
      returns(first: 10, query: $returnQuery) {
        nodes { id name status }
      }
    }
  }
}
"""

# --- reads that make the actions safe to retry ------------------------------------------------

RETURN_STATE = """
query ReturnState($id: ID!) {
  return(id: $id) {
    id
    name
    status
    decline { reason note }
    order { id }
  }
}
"""

RETURN_REFUND_CONTEXT = (
    """
query ReturnRefundContext($id: ID!) {
  return(id: $id) {
    id
    name
    status
    refunds(first: 10) {
      nodes {
        id
        createdAt
        note
        totalRefundedSet { ...MoneyBagFields }
      }
    }
    returnLineItems(first: 50) {
      pageInfo { hasNextPage endCursor }
      nodes { id quantity refundableQuantity }
    }
    order {
      id
      currencyCode
      presentmentCurrencyCode
      transactions(first: 50) {
        id
        kind
        status
        gateway
        parentTransaction { id }
        amountSet { ...MoneyBagFields }
      }
    }
  }
}
"""
    + _MONEY_BAG
)

STORE_CREDIT_NAMESPACE = "returnsbot"
STORE_CREDIT_KEY = "store_credits"

CUSTOMER_STORE_CREDIT = """
query CustomerStoreCredit($id: ID!) {
  customer(id: $id) {
    id
    metafield(namespace: "returnsbot", key: "store_credits") { id value compareDigest }
    storeCreditAccounts(first: 5) {
      nodes {
        id
        balance { amount currencyCode }
        transactions(first: 25, sortKey: CREATED_AT, reverse: true, query: "type:credit") {
          nodes {
            createdAt
            amount { amount currencyCode }
            ... on StoreCreditAccountCreditTransaction { id }
          }
        }
      }
    }
  }
}
"""

# --- mutations ----------------------------------------------------------------------------------

RETURN_APPROVE = f"""
mutation ReturnApproveRequest($input: ReturnApproveRequestInput!) {{
  returnApproveRequest(input: $input) {{
    return {{ id name status }}
    {_USER_ERRORS}
  }}
}}
"""

RETURN_DECLINE = f"""
mutation ReturnDeclineRequest($input: ReturnDeclineRequestInput!) {{
  returnDeclineRequest(input: $input) {{
    return {{ id name status decline {{ reason note }} }}
    {_USER_ERRORS}
  }}
}}
"""

RETURN_REFUND = (
    f"""
mutation ReturnRefund($input: ReturnRefundInput!) {{
  returnRefund(returnRefundInput: $input) {{
    refund {{
      id
      createdAt
      totalRefundedSet {{ ...MoneyBagFields }}
    }}
    {_USER_ERRORS}
  }}
}}
"""
    + _MONEY_BAG
)

STORE_CREDIT_CREDIT = f"""
mutation StoreCreditAccountCredit($id: ID!, $creditInput: StoreCreditAccountCreditInput!) {{
  storeCreditAccountCredit(id: $id, creditInput: $creditInput) {{
    storeCreditAccountTransaction {{
      id
      createdAt
      amount {{ amount currencyCode }}
      account {{ id balance {{ amount currencyCode }} }}
    }}
    {_USER_ERRORS}
  }}
}}
"""

METAFIELDS_SET = f"""
mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) {{
  metafieldsSet(metafields: $metafields) {{
    metafields {{ id namespace key value compareDigest }}
    {_USER_ERRORS}
  }}
}}
"""

ALL_DOCUMENTS: dict[str, str] = {
    "SHOP_PING": SHOP_PING,
    "RETURN_BY_ID": RETURN_BY_ID,
    "RETURN_LINE_ITEMS_PAGE": RETURN_LINE_ITEMS_PAGE,
    "RETURNS_BY_IDS": RETURNS_BY_IDS,
    "ORDER_RETURNS": ORDER_RETURNS,
    "ORDER_BY_ID": ORDER_BY_ID,
    "ORDER_LINE_ITEMS_PAGE": ORDER_LINE_ITEMS_PAGE,
    "ORDER_SEARCH": ORDER_SEARCH,
    "CUSTOMER_BY_ID": CUSTOMER_BY_ID,
    "CUSTOMER_HISTORY": CUSTOMER_HISTORY,
    "DISPUTE_BY_ID": DISPUTE_BY_ID,
    "ORDER_DISPUTES": ORDER_DISPUTES,
    "DISPUTES_BY_IDS": DISPUTES_BY_IDS,
    "REFUND_BY_ID": REFUND_BY_ID,
    "ORDERS_CREATED_SINCE": ORDERS_CREATED_SINCE,
    "ORDERS_WITH_REQUESTED_RETURNS": ORDERS_WITH_REQUESTED_RETURNS,
    "RETURN_STATE": RETURN_STATE,
    "RETURN_REFUND_CONTEXT": RETURN_REFUND_CONTEXT,
    "CUSTOMER_STORE_CREDIT": CUSTOMER_STORE_CREDIT,
    "RETURN_APPROVE": RETURN_APPROVE,
    "RETURN_DECLINE": RETURN_DECLINE,
    "RETURN_REFUND": RETURN_REFUND,
    "STORE_CREDIT_CREDIT": STORE_CREDIT_CREDIT,
    "METAFIELDS_SET": METAFIELDS_SET,
}
