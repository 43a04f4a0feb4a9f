-- Missing-assignee gaps: one row when a gap opens and one when it closes (domain.md 3.3).
CREATE TABLE IF NOT EXISTS assignee_gaps
(
    id             String,
    gap_id         String,
    kind           LowCardinality(String),
    state          LowCardinality(String),
    channel        LowCardinality(String),
    interaction_id String,
    customer_id    Nullable(String),
    queue          LowCardinality(Nullable(String)),
    agent_id       Nullable(String),
    opened_at      DateTime64(3, 'UTC'),
    closed_at      Nullable(DateTime64(3, 'UTC')),
    open_ms        Nullable(Int64),
    detected_at    DateTime64(3, 'UTC'),
    reason         LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(opened_at)
ORDER BY id;
