-- A series holds one document in flight or in doubt at a time (actors/invoicing/store.claim):
-- the claim looks for another 'issuing' row of the series before taking it.
CREATE INDEX invoicing_documents_issuing_series ON invoicing_documents (series)
    WHERE state = 'issuing';
