-- Every SLA record (warning, breach, achieved, fulfilled, escalation, retracted,
-- customer_chase), one row each; `id` is deterministic, so re-emitted records collapse.
CREATE TABLE IF NOT EXISTS sla_events
(
    id             String,
    kind           LowCardinality(String),
    policy         LowCardinality(String),
    metric         LowCardinality(String),
    channel        LowCardinality(String),
    cycle          UInt32,
    interaction_id String,
    customer_id    Nullable(String),
    queue          LowCardinality(Nullable(String)),
    owner          Nullable(String),
    group_name     LowCardinality(String),
    target_ms      Int64,
    elapsed_ms     Int64,
    started_at     DateTime64(3, 'UTC'),
    due_at         Nullable(DateTime64(3, 'UTC')),
    detected_at    DateTime64(3, 'UTC'),
    business_hours Bool,
    fraction       Nullable(Float32),
    level          Nullable(UInt8),
    late           Nullable(Bool),
    retracts       Nullable(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY id;

-- The latest state of each target (interaction, metric, cycle): read with FINAL.
CREATE TABLE IF NOT EXISTS sla_targets
(
    interaction_id String,
    metric         LowCardinality(String),
    cycle          UInt32,
    channel        LowCardinality(String),
    policy         LowCardinality(String),
    queue          LowCardinality(Nullable(String)),
    customer_id    Nullable(String),
    owner          Nullable(String),
    state          LowCardinality(String),
    started_at     DateTime64(3, 'UTC'),
    due_at         Nullable(DateTime64(3, 'UTC')),
    elapsed_ms     Int64,
    updated_at     DateTime64(3, 'UTC'),
    record_id      String
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (interaction_id, metric, cycle);
