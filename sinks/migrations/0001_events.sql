-- Every valid input event, one row each, with where it was read from.
-- ReplacingMergeTree on event_id: a batch written again after a crash (at-least-once) collapses
-- into the rows already there; read with FINAL for exact counts before background merges.
CREATE TABLE IF NOT EXISTS events
(
    event_id          String,
    type              LowCardinality(String),
    channel           LowCardinality(String),
    occurred_at       DateTime64(3, 'UTC'),
    interaction_id    Nullable(String),
    customer_id       Nullable(String),
    queue             LowCardinality(Nullable(String)),
    agent_id          Nullable(String),
    direction         LowCardinality(Nullable(String)),
    announced_seconds Nullable(UInt32),
    to_agent_id       Nullable(String),
    to_queue          LowCardinality(Nullable(String)),
    author            LowCardinality(Nullable(String)),
    priority          LowCardinality(Nullable(String)),
    tier              LowCardinality(Nullable(String)),
    status            LowCardinality(Nullable(String)),
    public            Nullable(Bool),
    promised_at       Nullable(DateTime64(3, 'UTC')),
    score             Nullable(UInt8),
    source_topic      LowCardinality(String),
    source_partition  UInt32,
    source_offset     UInt64,
    payload_format    LowCardinality(String),
    ingested_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id;
