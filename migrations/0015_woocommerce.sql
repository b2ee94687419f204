-- The WooCommerce connector actor (docs/WOOCOMMERCE.md, "The connector actor").

-- Shop orders as the connector took them in: one row per shop order id, whatever the number of
-- webhooks and polls that brought it. The row decides what a repeated delivery does.
CREATE TABLE woo_orders (
    shop_order_id     bigint      PRIMARY KEY,
    order_id          text        NOT NULL UNIQUE,   -- the hub's order id: woo-<shop order id>
    number            text        NOT NULL,          -- the shop's order number
    -- waiting: the shop status is not one to place at (pending card payment, failed);
    -- checking: the hub's pricing was asked (check_no) before placing; parked: a person must
    -- look (reason); placed: PlaceOrder emitted; rejected: the orders context refused it
    -- (reason); cancelled: cancelled in the shop before it was placed.
    state             text        NOT NULL CHECK (state IN (
        'waiting', 'checking', 'parked', 'placed', 'rejected', 'cancelled')),
    reason            text,
    skus              text[]      NOT NULL DEFAULT '{}',  -- lines at fault, when parked
    shop_status       text        NOT NULL,
    shop_modified     timestamptz,                   -- date_modified_gmt of the content held
    shop_order        bytea       NOT NULL,          -- the order as last delivered (JSON)
    request           bytea,                         -- the PlaceOrder (msgspec JSON)
    shop_lines        jsonb,                         -- per SKU: quantity, net, VAT (shop)
    check_no          integer     NOT NULL DEFAULT 0,
    accept_totals     boolean     NOT NULL DEFAULT false,
    shop_net          numeric,                       -- the shop's lines, net of VAT
    shop_gross        numeric,
    hub_net           numeric,                       -- the hub's pricing of the same lines
    hub_gross         numeric,
    mismatch          text,                          -- the difference, when beyond 0.01 RON
    placed_at         timestamptz,                   -- PlaceOrder emitted
    hub_number        text,                          -- the hub's order number (OrderPlaced)
    shop_cancelled_at timestamptz,                   -- the shop cancelled it after placing
    -- the shop status the hub wants shown (OrderStateChanged.woo_status, newest by at) and the
    -- one the shop confirmed last; a difference is a push still due
    status_wanted     text,
    status_wanted_at  timestamptz,
    status_pushed     text,
    status_error      text,                          -- the last push's failure
    status_refused    boolean     NOT NULL DEFAULT false,  -- the shop refused it for good
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX woo_orders_state ON woo_orders (state) WHERE state IN ('parked', 'rejected');
CREATE INDEX woo_orders_status_due ON woo_orders (status_wanted_at)
    WHERE status_wanted IS DISTINCT FROM status_pushed;

-- Registered shop customers seen in customer.* webhooks: the hub customer id their orders
-- carry (its tier is the pricing engine's), and the B2B tier the shop shows.
CREATE TABLE woo_customers (
    shop_customer_id  bigint      PRIMARY KEY,
    hub_customer_id   text        NOT NULL,
    tier              smallint    CHECK (tier BETWEEN 0 AND 3),
    role              text        NOT NULL DEFAULT '',
    email             text        NOT NULL DEFAULT '',
    shop_modified     timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Hub-owned product fields per SKU: what the hub wants the shop to show (from PriceChanged and
-- StockChanged), and what the shop holds as far as the hub knows (lookups, product webhooks,
-- answers to pushes). A row whose wanted values differ from the shop's is pushed by the next
-- batch; a crash anywhere leaves the difference here, so the push happens after the restart.
CREATE TABLE woo_products (
    sku                   text        PRIMARY KEY,
    product_id            bigint,                    -- the shop's product (NULL: not known yet)
    regular_price         numeric,                   -- wanted; price_at NULL: no opinion yet
    sale_price            numeric,                   -- wanted; NULL: no sale
    price_at              timestamptz,               -- occurred_at of the PriceChanged applied
    stock_quantity        integer     CHECK (stock_quantity >= 0),
    stock_version         bigint,                    -- StockChanged.version applied (highest)
    stock_pushed_version  bigint,                    -- the version the shop was last given
    shop_regular_price    numeric,
    shop_sale_price       numeric,
    shop_stock_quantity   numeric,
    shop_manage_stock     boolean,
    shop_modified         timestamptz,
    missing_since         timestamptz,               -- looked up: no such SKU in the shop
    refused               text,                      -- the shop refused the last push for good
    pushed_at             timestamptz,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX woo_products_product ON woo_products (product_id);

-- One row of sync state: the armed push window, its failures, the reconcile poll's cursor.
CREATE TABLE woo_sync (
    name              text        PRIMARY KEY CHECK (name = 'shop'),
    push_due_at       timestamptz,                   -- a PushProducts timer is armed for then
    push_failures     integer     NOT NULL DEFAULT 0,
    push_error        text,
    poll_cursor       timestamptz,                   -- newest date_modified_gmt the poll saw
    polled_at         timestamptz,
    poll_error        text
);

INSERT INTO woo_sync (name) VALUES ('shop');
