-- Issue 11 (messages people can count on): providers report back what
-- happened to a message after they accepted it (Kannel's dlr-url, Twilio's
-- StatusCallback, the webhook provider's signed callback), and the flow that
-- waits for a code shows it to the person. Portable DDL as in 00001.
--
-- delivery_status is message.DeliveryStatus: queued (in the outbox), sent
-- (a provider accepted it), then one of delivered, undelivered, failed. It
-- only moves forward (store.DB.ApplyDeliveryReport): a report that arrives
-- late or twice changes nothing. delivery_updated_at is when it last moved.
-- The index serves the reports that name a message by the provider's id.

-- +goose Up
ALTER TABLE message ADD COLUMN delivery_status TEXT NOT NULL DEFAULT 'queued';
ALTER TABLE message ADD COLUMN delivery_updated_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX message_provider_id ON message (provider, provider_message_id);

-- +goose Down
DROP INDEX message_provider_id;
ALTER TABLE message DROP COLUMN delivery_updated_at;
ALTER TABLE message DROP COLUMN delivery_status;
