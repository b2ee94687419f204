-- One phone, one recipient: a customer's WhatsApp conversation is found by its saved phone, so a
-- phone saved by two customers showed each the other's messages. The preferences route refuses
-- a phone another recipient holds (409 phone_taken); this index holds it under concurrent saves.

-- Phones already shared stay with the recipient saved most recently (ties: the lowest
-- customer_id, as chat_store.open_conversation chose); the others lose the phone and, with it,
-- their WhatsApp opt-in (it needs a phone). They save their number again, or staff move it.
UPDATE notification_recipients r
   SET phone = NULL, whatsapp_opt_in = false, updated_at = now()
 WHERE r.phone IS NOT NULL
   AND r.customer_id <> (SELECT k.customer_id FROM notification_recipients k
                          WHERE k.phone = r.phone
                          ORDER BY k.updated_at DESC, k.customer_id LIMIT 1);

-- The relink trigger unlinked the conversations of the recipients above; each goes to the
-- phone's one recipient now.
UPDATE notification_chat_conversations c
   SET customer_id = r.customer_id
  FROM notification_recipients r
 WHERE r.phone = c.phone AND c.customer_id IS DISTINCT FROM r.customer_id;

DROP INDEX notification_recipients_phone;
CREATE UNIQUE INDEX notification_recipients_phone
    ON notification_recipients (phone) WHERE phone IS NOT NULL;
