-- The chatbot's knowledge base (issue 20, SPEC §3.4), edited by admins at
-- run time: one FAQ article per row. `id` is the article's own id
-- (`puk.fr`); `position` keeps the order articles were added in (retrieval
-- breaks ties by it); `questions` and `tags` are JSON arrays of strings;
-- `self_service` names a flow (`puk`, `balance`, `last_bills`) or is NULL.
-- Times are Unix ms. The demo's articles are copied in once from
-- `<bot.kb_dir>/articles.toml` (meta key `bot.kb_seeded`).
CREATE TABLE kb_articles (
    id           TEXT PRIMARY KEY,
    position     BIGINT NOT NULL,
    lang         TEXT NOT NULL CHECK (lang IN ('fr', 'en')),
    tags         TEXT NOT NULL DEFAULT '[]',
    questions    TEXT NOT NULL,
    answer       TEXT NOT NULL,
    self_service TEXT,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX kb_articles_position ON kb_articles (position);
