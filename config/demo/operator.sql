-- Demo operator database (SQLite) for the IVR's SQL lookups (SPEC §1.3 R3,
-- "your last three recharges") and as the data behind the demo operator web
-- service (PUK, balance, segment: see config/demo/README.md).
--
-- Create it with:  sqlite3 data/demo-operator.db < config/demo/operator.sql
-- The flow `config/demo/flows/main.yaml` queries it as database `operator`:
--   SELECT amount, recharged_at FROM recharges
--   WHERE msisdn = ?1 ORDER BY recharged_at DESC LIMIT 3
-- Idempotent: safe to run again.

CREATE TABLE IF NOT EXISTS subscribers (
    msisdn      TEXT PRIMARY KEY,          -- E.164, e.g. +22997000001
    name        TEXT NOT NULL,
    segment     TEXT NOT NULL CHECK (segment IN ('vip', 'business', 'general')),
    language    TEXT,                      -- fr, en, wo
    id_last4    TEXT NOT NULL,             -- last 4 digits of the ID document
    puk         TEXT NOT NULL,             -- 8-digit PUK code
    balance_xof INTEGER NOT NULL           -- main balance, CFA francs
);

CREATE TABLE IF NOT EXISTS recharges (
    id           INTEGER PRIMARY KEY,
    msisdn       TEXT NOT NULL REFERENCES subscribers (msisdn),
    amount       INTEGER NOT NULL,         -- CFA francs
    recharged_at TEXT NOT NULL,            -- 'YYYY-MM-DD HH:MM:SS', local time
    channel      TEXT NOT NULL             -- voucher, mobile_money, shop
);

CREATE INDEX IF NOT EXISTS recharges_by_msisdn ON recharges (msisdn, recharged_at DESC);

INSERT OR REPLACE INTO subscribers VALUES
    ('+22997000001', 'Adjoa Mensah',    'general',  'fr', '1234', '12345678', 2500),
    ('+22997000002', 'Koffi Agbodjan',  'vip',      'fr', '4321', '87654321', 150000),
    ('+22997000003', 'Moussa Diop',     'business', 'wo', '5678', '11223344', 42750),
    ('+22997000004', 'Grace Houngbo',   'general',  'en', '9012', '55667788', 0),
    ('+22997000005', 'Nouveau Client',  'general',  NULL, '0000', '99887766', 100);

INSERT OR REPLACE INTO recharges (id, msisdn, amount, recharged_at, channel) VALUES
    (1,  '+22997000001', 1000,  '2026-11-20 10:00:00', 'voucher'),
    (2,  '+22997000001', 500,   '2026-11-01 18:30:00', 'mobile_money'),
    (3,  '+22997000001', 2000,  '2026-10-15 09:12:00', 'shop'),
    (4,  '+22997000001', 200,   '2026-09-30 20:45:00', 'voucher'),
    (5,  '+22997000002', 50000, '2026-11-25 08:00:00', 'mobile_money'),
    (6,  '+22997000002', 25000, '2026-11-10 08:00:00', 'mobile_money'),
    (7,  '+22997000003', 10000, '2026-11-28 12:00:00', 'shop'),
    (8,  '+22997000003', 5000,  '2026-11-02 16:20:00', 'voucher'),
    (9,  '+22997000004', 300,   '2026-07-01 07:00:00', 'voucher');
-- +22997000005 has no recharge: the flow says "no recent top-up".
