-- Documents waiting for their series (another document of it in flight or in doubt): queued in
-- order of arrival; the document that frees the series wakes the first one (actors/invoicing,
-- docs/INVOICING.md) instead of every waiter polling the series.
ALTER TABLE invoicing_documents ADD COLUMN waiting_series text;
CREATE INDEX invoicing_documents_series_queue ON invoicing_documents (waiting_series, created_at)
    WHERE state = 'intent' AND waiting_series IS NOT NULL;
