-- Every SLA record says the instant it is about: a warning's crossing, a breach's due time,
-- an achievement's moment, a chase's message (rows written before this have the epoch).
ALTER TABLE sla_events ADD COLUMN IF NOT EXISTS occurred_at DateTime64(3, 'UTC') AFTER due_at;
