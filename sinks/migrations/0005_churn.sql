-- Churn level changes (domain.md 3.2): one row per change, with the reasons as JSON.
CREATE TABLE IF NOT EXISTS churn_signals
(
    id              String,
    customer_id     String,
    level           LowCardinality(String),
    previous_level  LowCardinality(String),
    score           Float64,
    reasons         String,
    changed_at      DateTime64(3, 'UTC'),
    last_contact_at Nullable(DateTime64(3, 'UTC')),
    usual_gap_ms    Int64,
    detected_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(changed_at)
ORDER BY id;

-- Each customer's current level: read with FINAL.
CREATE TABLE IF NOT EXISTS churn_levels
(
    customer_id String,
    level       LowCardinality(String),
    score       Float64,
    changed_at  DateTime64(3, 'UTC'),
    record_id   String
)
ENGINE = ReplacingMergeTree(changed_at)
ORDER BY customer_id;
