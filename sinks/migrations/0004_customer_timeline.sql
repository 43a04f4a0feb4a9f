-- Every contact of a customer across channels, with who handled it and when: "who handled
-- this customer's complaint last month?" is one query on this view.
CREATE VIEW IF NOT EXISTS customer_timeline AS
SELECT
    customer_id,
    occurred_at,
    channel,
    interaction_id,
    type,
    multiIf(
        type IN ('call.queued', 'chat.requested', 'ticket.created'), 'contacted',
        type IN ('call.answered', 'chat.accepted'), 'answered by',
        type = 'ticket.assigned', 'assigned to',
        type IN ('call.transferred', 'chat.transferred'), 'transferred to',
        type = 'ticket.commented' AND author = 'agent', 'commented by',
        type = 'chat.message' AND author = 'agent', 'replied by',
        type IN ('call.abandoned', 'chat.abandoned'), 'abandoned',
        type = 'ticket.status_changed', concat('status ', ifNull(status, '')),
        type = 'ticket.csat', concat('rated ', toString(score)),
        type
    ) AS action,
    if(type IN ('call.transferred', 'chat.transferred'), coalesce(to_agent_id, to_queue), agent_id) AS who,
    queue
FROM events FINAL
WHERE customer_id IS NOT NULL
  AND (type NOT IN ('chat.message', 'call.hold_started', 'call.hold_ended') OR author = 'agent');
