-- SLA records per minute (of the instant each is about), queue, policy, metric and kind:
-- breaches by policy, achievements and their elapsed times, without scanning sla_events.
CREATE TABLE IF NOT EXISTS sla_minute
(
    minute     DateTime('UTC'),
    queue      LowCardinality(String),
    policy     LowCardinality(String),
    metric     LowCardinality(String),
    kind       LowCardinality(String),
    records    SimpleAggregateFunction(sum, UInt64),
    late       SimpleAggregateFunction(sum, UInt64),
    elapsed_ms AggregateFunction(quantileTDigest, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, queue, policy, metric, kind);

CREATE MATERIALIZED VIEW IF NOT EXISTS sla_minute_mv TO sla_minute AS
SELECT
    toStartOfMinute(occurred_at) AS minute,
    ifNull(queue, '') AS queue,
    policy,
    metric,
    kind,
    count() AS records,
    countIf(ifNull(late, false)) AS late,
    quantileTDigestState(toFloat64(elapsed_ms)) AS elapsed_ms
FROM sla_events
GROUP BY minute, queue, policy, metric, kind;

-- Records written before this migration (the worker is not writing while it runs).
INSERT INTO sla_minute
SELECT
    toStartOfMinute(occurred_at) AS minute,
    ifNull(queue, '') AS queue,
    policy,
    metric,
    kind,
    count() AS records,
    countIf(ifNull(late, false)) AS late,
    quantileTDigestState(toFloat64(elapsed_ms)) AS elapsed_ms
FROM sla_events FINAL
GROUP BY minute, queue, policy, metric, kind;
