"""Every GraphQL document returnsbot sends to the Shopify Admin API (version 2026-10).

Each constant is a complete, self-contained document (its fragments included), so the
test suite can validate every entry of `ALL_DOCUMENTS` against the 2026-10 schema.
Besides `mapping.py`, this is the only module that spells Shopify field names.

Cost. Shopify charges a query its *requested* cost before running it — objects 1,
scalars and enums 0, a connection 2 + first × what one node costs, a list first × item —
refuses anything above 1,000 points, and a standard-plan shop restores only 100 points a
second. So a new return case is read with one document, `RETURN_CASE` (the return, its
order, the order's other returns and disputes, the customer and their recent orders),
with `first:` limits sized for typical shops; what does not fit (a long order, a busy
customer) is read by the paging documents below, and only then. `tests/shopify` pins the
figures (see bench/README.md, "GraphQL cost per new case").

2026-10 facts this relies on (checked against the introspection schema):
- `Return.createdAt` is when the return was requested; there is no `requestedAt`.
- `ReturnLineItemType.returnReasonDefinition { handle name }` replaces the deprecated
  `returnReason` enum, which is still read as the fallback for returns without one.
- `returnProcess` (2025-07) confirms returned and exchanged quantities, applies
  dispositions and issues the refund in one call; `returnRefund` is deprecated. No
  `return*` mutation takes an idempotency key: see `source.py`.
- `refundCreate` needs `@idempotent(key:)` from 2026-04 (a runtime error without it,
  although the schema cannot say so).
- `Customer.email` is deprecated for `defaultEmailAddress { emailAddress }`.
- `ReturnRefundOrderTransactionInput.transactionAmount` is "in the presentment currency
  of the order"; transactions carry `amountSet { shopMoney presentmentMoney }`.
"""

from __future__ import annotations

# --- fragments (concatenated into the documents that use them) ----------------------------

_MONEY_BAG = """
fragment MoneyBagFields on MoneyBag {
  shopMoney { amount currencyCode }
}
"""

# Both sides of a bag, where money moves (refunds go out in the presentment currency).
_MONEY_BAG_BOTH = """
fragment MoneyBagBoth on MoneyBag {
  shopMoney { amount currencyCode }
  presentmentMoney { amount currencyCode }
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
  totalRefundedSet { ...MoneyBagFields }
  fulfillments(first: 10) {
    id
    status
    displayStatus
    createdAt
    inTransitAt
    deliveredAt
    estimatedDeliveryAt
    trackingInfo(first: 1) { company number url }
  }
  refunds(first: 10) {
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

_CUSTOMER = """
fragment CustomerFields on Customer {
  id
  displayName
  defaultEmailAddress { emailAddress }
  tags
  numberOfOrders
  amountSpent { amount currencyCode }
  createdAt
}
"""

# The customer's most recently updated orders with their returns (ids, states and request
# times only): enough for the history of a look-back period as long as the page reaches
# back past it; else CUSTOMER_HISTORY pages through the period.
_RECENT_HISTORY = """
fragment RecentHistoryFields on Customer {
  firstOrder: orders(first: 1, sortKey: CREATED_AT) {
    nodes { id createdAt }
  }
  recentOrders: orders(first: 10, sortKey: UPDATED_AT, reverse: true) {
    pageInfo { hasNextPage }
    nodes {
      id
      createdAt
      updatedAt
      returns(first: 3) {
        pageInfo { hasNextPage }
        nodes { id status createdAt }
      }
    }
  }
}
"""

# An order with everything a case about it reads: line items, its returns (ids), dispute
# summaries, and the customer with their recent history.
_ORDER_CONTEXT = """
fragment OrderContextFields on Order {
  ...OrderFields
  lineItems(first: 20) {
    pageInfo { hasNextPage endCursor }
    nodes { ...LineItemFields }
  }
  returns(first: 10) {
    pageInfo { hasNextPage }
    nodes { id status createdAt }
  }
  disputes { id status initiatedAs }
  customer {
    ...CustomerFields
    ...RecentHistoryFields
  }
}
"""

_RETURN_CORE = """
fragment ReturnCoreFields on Return {
  id
  name
  status
  createdAt
  totalQuantity
  decline { reason note }
}
"""

_RETURN_LINE_ITEM = """
fragment ReturnLineItemFields on ReturnLineItemType {
  id
  quantity
  returnReasonDefinition { handle name }
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

# A return line as `refund_return` needs it: quantities, the reason (for dispositions), and
# the order line's price in both currencies.
_RETURN_LINE_PROCESS = """
fragment ReturnLineProcessFields on ReturnLineItemType {
  id
  quantity
  processableQuantity
  processedQuantity
  returnReasonDefinition { handle }
  returnReason
  ... on ReturnLineItem {
    fulfillmentLineItem {
      id
      lineItem {
        id
        discountedUnitPriceAfterAllDiscountsSet { ...MoneyBagBoth }
      }
    }
  }
  ... on UnverifiedReturnLineItem {
    unitPrice { amount currencyCode }
  }
}
"""

_USER_ERRORS = "userErrors { code field message }"

_ORDER_CONTEXT_PARTS = _ORDER_CONTEXT + _ORDER + _CUSTOMER + _RECENT_HISTORY + _LINE_ITEM + _MONEY_BAG

# --- reads ----------------------------------------------------------------------------------

SHOP_PING = """
query ShopPing {
  shop { name myshopifyDomain currencyCode }
}
"""

# A new return case in one round trip: the return, and its order with everything around it.
RETURN_CASE = (
    """
query ReturnCase($id: ID!) {
  return(id: $id) {
    ...ReturnCoreFields
    returnLineItems(first: 10) {
      pageInfo { hasNextPage endCursor }
      nodes { ...ReturnLineItemFields }
    }
    order { ...OrderContextFields }
  }
}
"""
    + _RETURN_CORE
    + _RETURN_LINE_ITEM
    + _ORDER_CONTEXT_PARTS
)

# One return without the order context (a return met on another page, with more lines).
RETURN_BY_ID = (
    """
query ReturnById($id: ID!) {
  return(id: $id) {
    ...ReturnCoreFields
    order { id }
    returnLineItems(first: 50) {
      pageInfo { hasNextPage endCursor }
      nodes { ...ReturnLineItemFields }
    }
  }
}
"""
    + _RETURN_CORE
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

# Several returns in one round trip (an order's other returns, the customer's history);
# keep batches at RETURNS_BATCH. A return with more lines than the page is read again
# with RETURN_BY_ID.
RETURNS_BY_IDS = (
    """
query ReturnsByIds($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    ... on Return {
      ...ReturnCoreFields
      order { id }
      returnLineItems(first: 5) {
        pageInfo { hasNextPage endCursor }
        nodes { ...ReturnLineItemFields }
      }
    }
  }
}
"""
    + _RETURN_CORE
    + _RETURN_LINE_ITEM
    + _LINE_ITEM
    + _MONEY_BAG
)
RETURNS_BATCH = 10

# An order's returns, paged (orders with more returns than RETURN_CASE reads).
ORDER_RETURNS = """
query OrderReturns($id: ID!, $after: String) {
  order(id: $id) {
    id
    returns(first: 25, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id status createdAt }
    }
  }
}
"""

ORDER_BY_ID = (
    """
query OrderById($id: ID!) {
  order(id: $id) { ...OrderContextFields }
}
"""
    + _ORDER_CONTEXT_PARTS
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

CUSTOMER_BY_ID = (
    """
query CustomerById($id: ID!) {
  customer(id: $id) {
    ...CustomerFields
    ...RecentHistoryFields
  }
}
"""
    + _CUSTOMER
    + _RECENT_HISTORY
)

# Orders touched since `since` (a return request updates its order), with their returns.
# `$query` is e.g. "updated_at:>='2026-10-01T00:00:00Z'".
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
          nodes { id status createdAt }
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

# A dispute's evidence as it stands (check before act: submitted evidence is never sent
# again), and the evidence update that submits it.
DISPUTE_EVIDENCE = """
query DisputeEvidence($id: ID!) {
  dispute(id: $id) {
    id
    status
    evidenceDueBy
    disputeEvidence { id submitted }
  }
}
"""

DISPUTE_EVIDENCE_UPDATE = """
mutation DisputeEvidenceUpdate($id: ID!, $input: ShopifyPaymentsDisputeEvidenceUpdateInput!) {
  disputeEvidenceUpdate(id: $id, input: $input) {
    disputeEvidence { id submitted }
    userErrors { field message code }
  }
}
"""

# How an order was placed: the buyer's IP and addresses (a dispute's evidence only).
ORDER_FACTS = """
query OrderFacts($id: ID!) {
  order(id: $id) {
    id
    clientIp
    billingAddressMatchesShippingAddress
    billingAddress { name address1 address2 city province zip countryCodeV2 }
    shippingAddress { name address1 address2 city province zip countryCodeV2 }
  }
}
"""

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
        nodes { id name status createdAt }
      }
    }
  }
}
"""

# A return's progress after approval (issue 9): status and times, what is processed per line,
# the reverse deliveries' label/tracking and the warehouse's dispositions. Bounded: 10 lines,
# 5 reverse fulfillment orders x (10 lines x 5 dispositions + 5 deliveries); requested cost
# stays well under the single-query cap (test_every_document_stays_under_...).
_RETURN_PROGRESS_FIELDS = """
  id
  name
  status
  createdAt
  requestApprovedAt
  closedAt
  order { id }
  returnLineItems(first: 10) {
    nodes { id quantity processedQuantity ... on ReturnLineItem { fulfillmentLineItem { id } } }
  }
  reverseFulfillmentOrders(first: 5) {
    nodes {
      id
      status
      lineItems(first: 10) {
        nodes {
          id
          fulfillmentLineItem { id }
          dispositions { type quantity location { name } }
        }
      }
      reverseDeliveries(first: 5) {
        nodes {
          id
          deliverable {
            ... on ReverseDeliveryShippingDeliverable {
              label { publicFileUrl createdAt }
              tracking { carrierName number url }
            }
          }
        }
      }
    }
  }
"""

RETURN_PROGRESS = (
    """
query ReturnProgress($id: ID!) {
  return(id: $id) {"""
    + _RETURN_PROGRESS_FIELDS
    + """  }
}
"""
)

# The catch-up poller: orders updated since the cursor with returns in progress (approved, not
# yet closed), ids only; each return's progress is then one RETURN_PROGRESS read. Embedding the
# progress here would cost several thousand points a page, over Shopify's single-query cap.
ORDERS_WITH_RETURNS_IN_PROGRESS = """
query OrdersWithReturnsInProgress($query: String!, $after: String) {
  orders(first: 25, after: $after, sortKey: UPDATED_AT, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      updatedAt
      returns(first: 5, query: "status:open") {
        nodes { id status }
      }
    }
  }
}
"""

# A reverse_* webhook body that does not name its return (Shopify publishes no sample, so we do
# not count on it), or names only reverse-fulfillment lines: the reverse object's return and
# how its lines meet the return's. The schema has no ReverseFulfillmentOrder.return: the path
# is the order's returns, each with its reverse fulfillment order ids; the two kinds of line
# meet at the fulfillment line item. Paged over the order's returns (10 a page, ~330 points).
_REVERSE_OWNER_FIELDS = """
  id
  lineItems(first: 20) {
    nodes { id fulfillmentLineItem { id } }
  }
  order {
    id
    returns(first: 10, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        reverseFulfillmentOrders(first: 5) { nodes { id } }
        returnLineItems(first: 10) {
          nodes { id ... on ReturnLineItem { fulfillmentLineItem { id } } }
        }
      }
    }
  }
"""

REVERSE_FULFILLMENT_ORDER_OWNER = (
    """
query ReverseFulfillmentOrderOwner($id: ID!, $after: String) {
  reverseFulfillmentOrder(id: $id) {"""
    + _REVERSE_OWNER_FIELDS
    + """  }
}
"""
)

REVERSE_DELIVERY_OWNER = (
    """
query ReverseDeliveryOwner($id: ID!, $after: String) {
  reverseDelivery(id: $id) {
    id
    reverseFulfillmentOrder {"""
    + _REVERSE_OWNER_FIELDS
    + """    }
  }
}
"""
)

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

# Everything `refund_return` checks before processing: what is still processable (lines,
# exchanges), what was refunded already (on the return, and on the order: a refund made
# with refundCreate carries our key in its note), what each payment can still give back
# in both currencies, and where each item was shipped from (the restock location).
RETURN_PROCESS_CONTEXT = (
    """
query ReturnProcessContext($id: ID!) {
  return(id: $id) {
    id
    name
    status
    refunds(first: 10) {
      nodes {
        id
        createdAt
        note
        totalRefundedSet { ...MoneyBagBoth }
      }
    }
    returnLineItems(first: 20) {
      pageInfo { hasNextPage endCursor }
      nodes { ...ReturnLineProcessFields }
    }
    exchangeLineItems(first: 10, processingStatus: PROCESSABLE) {
      nodes { id processableQuantity }
    }
    reverseFulfillmentOrders(first: 3) {
      nodes {
        id
        lineItems(first: 10) {
          nodes {
            id
            totalQuantity
            dispositions { quantity type }
            fulfillmentLineItem { id }
          }
        }
      }
    }
    order {
      id
      currencyCode
      presentmentCurrencyCode
      totalShippingPriceSet { ...MoneyBagBoth }
      totalRefundedShippingSet { ...MoneyBagBoth }
      refunds(first: 20) { id note }
      transactions(first: 20) {
        id
        kind
        status
        gateway
        manualPaymentGateway
        parentTransaction { id }
        amountSet { ...MoneyBagBoth }
      }
      fulfillments(first: 5) {
        location { id }
        fulfillmentLineItems(first: 10) {
          nodes { id }
        }
      }
    }
  }
}
"""
    + _RETURN_LINE_PROCESS
    + _MONEY_BAG_BOTH
)

RETURN_PROCESS_LINES_PAGE = (
    """
query ReturnProcessLinesPage($id: ID!, $after: String) {
  return(id: $id) {
    id
    returnLineItems(first: 20, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...ReturnLineProcessFields }
    }
  }
}
"""
    + _RETURN_LINE_PROCESS
    + _MONEY_BAG_BOTH
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

# returnClose takes the return's id only: the bot's note stays in its own audit (ActionResult).
RETURN_CLOSE = f"""
mutation ReturnClose($id: ID!) {{
  returnClose(id: $id) {{
    return {{ id name status closedAt }}
    {_USER_ERRORS}
  }}
}}
"""

RETURN_PROCESS = (
    f"""
mutation ReturnProcess($input: ReturnProcessInput!) {{
  returnProcess(input: $input) {{
    return {{
      id
      name
      status
      refunds(first: 10) {{
        nodes {{ id createdAt totalRefundedSet {{ ...MoneyBagBoth }} }}
      }}
    }}
    {_USER_ERRORS}
  }}
}}
"""
    + _MONEY_BAG_BOTH
)

def _refund_create(operation: str) -> str:
    """refundCreate under `@idempotent(key:)`; each use has its own operation name, so logs,
    cost figures and the test fake can tell a return's refund from a shipping refund."""
    return (
        f"""
mutation {operation}($input: RefundInput!, $key: String!) {{
  refundCreate(input: $input) @idempotent(key: $key) {{
    refund {{
      id
      createdAt
      note
      totalRefundedSet {{ ...MoneyBagBoth }}
    }}
    userErrors {{ field message }}
  }}
}}
"""
        + _MONEY_BAG_BOTH
    )


# A refund that is not part of processing a return (the return was processed without
# one). `$key`: the same for every retry of one refund (Shopify replays the first result).
REFUND_CREATE = _refund_create("RefundCreate")

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

# --- exchanges: release the exchange items (returnProcess with exchangeLineItems only) --------

# What `release_exchange` checks before acting: the return's status and each exchange
# line's processable quantity (processed already → the release is a repeat), with the
# variant id its stock is read from. `ExchangeLineItem` names its variant only by id.
RETURN_EXCHANGE_STATE = """
query ReturnExchangeState($id: ID!) {
  return(id: $id) {
    id
    name
    status
    exchangeLineItems(first: 20) {
      nodes {
        id
        title
        variantTitle
        variantId
        quantity
        processableQuantity
        processedQuantity
      }
    }
  }
}
"""

# The stock of the exchange variants: tracked or not, whether it may be oversold
# (`inventoryPolicy: CONTINUE`), and the sellable quantity across locations.
EXCHANGE_VARIANT_STOCK = """
query ExchangeVariantStock($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on ProductVariant {
      id
      displayName
      inventoryQuantity
      inventoryPolicy
      inventoryItem { tracked }
    }
  }
}
"""

# No financialTransfer and no returnLineItems: only the exchange is processed (Shopify
# creates its fulfillment orders); the returned items are dealt with when they arrive.
RETURN_PROCESS_EXCHANGE = f"""
mutation ReturnProcessExchange($input: ReturnProcessInput!) {{
  returnProcess(input: $input) {{
    return {{
      id
      name
      status
      exchangeLineItems(first: 20) {{
        nodes {{ id processableQuantity processedQuantity }}
      }}
    }}
    {_USER_ERRORS}
  }}
}}
"""

# The exchange lines that won't ship, taken off the return (`removeFromReturn` replaces the
# deprecated `returnLineItemRemoveFromReturn`); removed lines drop out of `exchangeLineItems`.
REMOVE_EXCHANGE_FROM_RETURN = f"""
mutation RemoveExchangeFromReturn($returnId: ID!, $exchangeLineItems: [ExchangeLineItemRemoveFromReturnInput!]) {{
  removeFromReturn(returnId: $returnId, exchangeLineItems: $exchangeLineItems) {{
    return {{
      id
      status
      exchangeLineItems(first: 20) {{
        nodes {{ id processableQuantity }}
      }}
    }}
    {_USER_ERRORS}
  }}
}}
"""

# How an order was paid: each transaction's gateway, the processor's payment id and the
# gateway's receipt (payment processors' connectors find their charge ids in them).
ORDER_PAYMENT_REFERENCES = """
query OrderPaymentReferences($id: ID!) {
  order(id: $id) {
    id
    transactions(first: 20) { gateway manualPaymentGateway paymentId receiptJson kind status }
  }
}
"""


# --- delayed-shipment remedies (refund the shipping, reship the order) ----------------------

# The shipping charge and what is left of it, the order's refunds (the marker check) and
# the payments the money goes back to.
def _order_refund_context(operation: str, extra: str = "") -> str:
    """An order read before a refundCreate on it: its currencies, its refunds' notes (our
    marker: check-before-act) and the payments the money goes back to; `extra`: more fields."""
    return (
        f"""
query {operation}($id: ID!) {{
  order(id: $id) {{
    id
    name
    currencyCode
    presentmentCurrencyCode{extra}
    refunds(first: 50) {{ id note }}
    transactions(first: 20) {{
      id
      kind
      status
      gateway
      parentTransaction {{ id }}
      amountSet {{ ...MoneyBagBoth }}
    }}
  }}
}}
"""
        + _MONEY_BAG_BOTH
    )


ORDER_SHIPPING_REFUND_CONTEXT = _order_refund_context("OrderShippingRefundContext", """
    totalShippingPriceSet { ...MoneyBagBoth }
    totalRefundedShippingSet { ...MoneyBagBoth }""")

# refundCreate of shipping only: `shipping` says how much of the charge is refunded, the
# transactions move the money (in the order's presentment currency).
REFUND_SHIPPING_CREATE = _refund_create("RefundShippingCreate")

# A refund on an order with no store return (a return asked for in a support ticket): the
# order's payments (what each can still give back) and its refunds' notes (our marker, for
# check-before-act).
ORDER_REFUND_CONTEXT = _order_refund_context("OrderRefundContext")

# refundCreate of money only, for that refund (its own operation name, so the fake can tell it).
REFUND_ORDER_CREATE = _refund_create("RefundOrderCreate")

RESHIP_NAMESPACE = STORE_CREDIT_NAMESPACE  # one namespace for every ledger of ours
RESHIP_KEY = "reships"  # the order's JSON ledger: action key -> {draft, order, at}

# What a replacement needs (lines, what was shipped and delivered of each, the customer and
# the address) and the reship ledger, with its compare digest. Sized under 1,000 points:
# orders with more lines or fulfilments than this are reshipped from Shopify's admin.
ORDER_RESHIP_CONTEXT = (
    """
query OrderReshipContext($id: ID!, $namespace: String!, $key: String!) {
  order(id: $id) {
    id
    name
    email
    currencyCode
    cancelledAt
    customer { id }
    shippingAddress { address1 address2 city company countryCodeV2 firstName lastName phone provinceCode zip }
    metafield(namespace: $namespace, key: $key) { id value compareDigest }
    lineItems(first: 50) {
      pageInfo { hasNextPage }
      nodes {
        id
        title
        sku
        quantity
        variant { id }
        originalUnitPriceSet { ...MoneyBagBoth }
      }
    }
    fulfillments(first: 10) {
      id
      status
      displayStatus
      fulfillmentLineItems(first: 20) {
        nodes { id quantity lineItem { id } }
      }
    }
  }
}
"""
    + _MONEY_BAG_BOTH
)

DRAFT_ORDER_CREATE = """
mutation DraftOrderCreate($input: DraftOrderInput!) {
  draftOrderCreate(input: $input) {
    draftOrder { id name status }
    userErrors { field message }
  }
}
"""

DRAFT_ORDER_STATE = """
query DraftOrderState($id: ID!) {
  draftOrder(id: $id) {
    id
    name
    status
    order { id name }
  }
}
"""

# Completed as paid (nothing is due: every line is discounted 100%, shipping is free).
DRAFT_ORDER_COMPLETE = """
mutation DraftOrderComplete($id: ID!) {
  draftOrderComplete(id: $id, paymentPending: false) {
    draftOrder { id name status order { id name } }
    userErrors { field message }
  }
}
"""

DRAFT_ORDER_DELETE = """
mutation DraftOrderDelete($input: DraftOrderDeleteInput!) {
  draftOrderDelete(input: $input) {
    deletedId
    userErrors { field message }
  }
}
"""

# A moment's tags (issue 13). `tagsAdd` takes no idempotency key (no `@idempotent` in its
# description) but is idempotent in effect: the resource's tags are read first and a
# resource carrying every tag already is not sent the mutation again (check before act).
RESOURCE_TAGS = """
query ResourceTags($id: ID!) {
  node(id: $id) {
    id
    ... on Customer { displayName tags }
    ... on Order { name tags }
  }
}
"""

TAGS_ADD = """
mutation TagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""

# A return opened for a ticket (open_return.py): the order's fulfilled lines (a return line
# names a fulfillment line item) and its returns' line notes, where our marker is looked for
# before creating (returnCreate takes no idempotency key). Bounded under the 1,000-point
# cap: 10 fulfillments x 20 lines, 10 returns x 10 lines.
ORDER_OPEN_RETURN_CONTEXT = """
query OrderOpenReturnContext($id: ID!) {
  order(id: $id) {
    id
    name
    fulfillments(first: 10) {
      id
      fulfillmentLineItems(first: 20) {
        nodes { id quantity lineItem { id } }
      }
    }
    returns(first: 10) {
      nodes {
        id
        name
        status
        returnLineItems(first: 10) {
          nodes { id ... on ReturnLineItem { returnReasonNote } }
        }
      }
    }
  }
}
"""

RETURN_CREATE = """
mutation ReturnCreate($returnInput: ReturnInput!) {
  returnCreate(returnInput: $returnInput) {
    return { id name status }
    userErrors { field message code }
  }
}
"""

ALL_DOCUMENTS: dict[str, str] = {
    "DISPUTE_EVIDENCE": DISPUTE_EVIDENCE,
    "DISPUTE_EVIDENCE_UPDATE": DISPUTE_EVIDENCE_UPDATE,
    "ORDER_FACTS": ORDER_FACTS,
    "ORDER_PAYMENT_REFERENCES": ORDER_PAYMENT_REFERENCES,
    "SHOP_PING": SHOP_PING,
    "RETURN_CASE": RETURN_CASE,
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
    "RETURN_PROCESS_CONTEXT": RETURN_PROCESS_CONTEXT,
    "RETURN_PROCESS_LINES_PAGE": RETURN_PROCESS_LINES_PAGE,
    "CUSTOMER_STORE_CREDIT": CUSTOMER_STORE_CREDIT,
    "RETURN_APPROVE": RETURN_APPROVE,
    "RETURN_DECLINE": RETURN_DECLINE,
    "RETURN_PROCESS": RETURN_PROCESS,
    "RETURN_CLOSE": RETURN_CLOSE,
    "RETURN_PROGRESS": RETURN_PROGRESS,
    "ORDERS_WITH_RETURNS_IN_PROGRESS": ORDERS_WITH_RETURNS_IN_PROGRESS,
    "REVERSE_FULFILLMENT_ORDER_OWNER": REVERSE_FULFILLMENT_ORDER_OWNER,
    "REVERSE_DELIVERY_OWNER": REVERSE_DELIVERY_OWNER,
    "REFUND_CREATE": REFUND_CREATE,
    "STORE_CREDIT_CREDIT": STORE_CREDIT_CREDIT,
    "METAFIELDS_SET": METAFIELDS_SET,
    "RETURN_EXCHANGE_STATE": RETURN_EXCHANGE_STATE,
    "EXCHANGE_VARIANT_STOCK": EXCHANGE_VARIANT_STOCK,
    "RETURN_PROCESS_EXCHANGE": RETURN_PROCESS_EXCHANGE,
    "REMOVE_EXCHANGE_FROM_RETURN": REMOVE_EXCHANGE_FROM_RETURN,
    "ORDER_SHIPPING_REFUND_CONTEXT": ORDER_SHIPPING_REFUND_CONTEXT,
    "REFUND_SHIPPING_CREATE": REFUND_SHIPPING_CREATE,
    "ORDER_REFUND_CONTEXT": ORDER_REFUND_CONTEXT,
    "REFUND_ORDER_CREATE": REFUND_ORDER_CREATE,
    "ORDER_RESHIP_CONTEXT": ORDER_RESHIP_CONTEXT,
    "DRAFT_ORDER_CREATE": DRAFT_ORDER_CREATE,
    "DRAFT_ORDER_STATE": DRAFT_ORDER_STATE,
    "DRAFT_ORDER_COMPLETE": DRAFT_ORDER_COMPLETE,
    "DRAFT_ORDER_DELETE": DRAFT_ORDER_DELETE,
    "RESOURCE_TAGS": RESOURCE_TAGS,
    "TAGS_ADD": TAGS_ADD,
    "ORDER_OPEN_RETURN_CONTEXT": ORDER_OPEN_RETURN_CONTEXT,
    "RETURN_CREATE": RETURN_CREATE,
}
