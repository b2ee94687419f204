-- Demo data seeds applied to this database (each runs once; see hub/seeds.py).
CREATE TABLE hub_seeds (
    name        text        PRIMARY KEY,  -- "actors.catalog.seed:seed"
    applied_at  timestamptz NOT NULL DEFAULT now()
);
