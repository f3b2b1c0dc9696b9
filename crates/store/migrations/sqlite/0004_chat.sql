-- Internal chat between agents and supervisors: one row per message, in a
-- room (`team`, or `agent:<user id>` for one agent and the supervisors).
CREATE TABLE chat_messages (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    room      TEXT NOT NULL,
    sender_id INTEGER NOT NULL,
    sender    TEXT NOT NULL,
    body      TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX chat_messages_room ON chat_messages (room, id);
