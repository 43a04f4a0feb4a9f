-- Each call's and chat's steps through its queue, one row each (offered, answered, abandoned,
-- handled), written by the worker with the queue's thresholds already applied: the facts the
-- Prometheus queue counters count, kept for BI. Ids are deterministic, so a rewrite collapses.
CREATE TABLE IF NOT EXISTS queue_contacts
(
    id               String,
    contact_id       String,
    stage            LowCardinality(String),
    channel          LowCardinality(String),
    queue            LowCardinality(String),
    customer_id      Nullable(String),
    at               DateTime64(3, 'UTC'),
    wait_ms          Nullable(Int64),
    within_threshold Bool,
    short_abandon    Bool,
    handle_ms        Nullable(Int64)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY id;

-- Per minute, queue and channel: what the wallboard's formulas need, summed by the engine.
-- A step counts in the minute it happened (offered when offered, answered when answered), as
-- the Prometheus counters do. Read with sum() / the -Merge combinators, grouped as you like.
CREATE TABLE IF NOT EXISTS queue_minute
(
    minute                    DateTime('UTC'),
    queue                     LowCardinality(String),
    channel                   LowCardinality(String),
    offered                   SimpleAggregateFunction(sum, UInt64),
    answered                  SimpleAggregateFunction(sum, UInt64),
    answered_within_threshold SimpleAggregateFunction(sum, UInt64),
    abandoned                 SimpleAggregateFunction(sum, UInt64),
    short_abandoned           SimpleAggregateFunction(sum, UInt64),
    answer_wait_ms_sum        SimpleAggregateFunction(sum, UInt64),
    answer_wait_ms            AggregateFunction(quantileTDigest, Float64),
    handled                   SimpleAggregateFunction(sum, UInt64),
    handle_ms_sum             SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, queue, channel);

CREATE MATERIALIZED VIEW IF NOT EXISTS queue_minute_mv TO queue_minute AS
SELECT
    toStartOfMinute(at) AS minute,
    queue,
    channel,
    countIf(stage = 'offered') AS offered,
    countIf(stage = 'answered') AS answered,
    countIf(stage = 'answered' AND within_threshold) AS answered_within_threshold,
    countIf(stage = 'abandoned') AS abandoned,
    countIf(stage = 'abandoned' AND short_abandon) AS short_abandoned,
    toUInt64(sumIf(ifNull(wait_ms, 0), stage = 'answered')) AS answer_wait_ms_sum,
    quantileTDigestStateIf(toFloat64(ifNull(wait_ms, 0)), stage = 'answered') AS answer_wait_ms,
    countIf(stage = 'handled') AS handled,
    toUInt64(sumIf(ifNull(handle_ms, 0), stage = 'handled')) AS handle_ms_sum
FROM queue_contacts
GROUP BY minute, queue, channel;
