-- Admission read every run an identity ever made to count those in its rate window: the count
-- scanned runs_owner_workflow by owner alone and filtered source and time on each row, so a start
-- cost more the longer the identity had been using the server (0.45 ms of CPU after 300 runs on
-- PGlite, 1.3 ms after 3,000; issue 12). runs_owner_source holds the three columns the count reads,
-- and trellis_admit_run (migration 0005) now reads at most as many runs as the limit allows, in the
-- window only: per identity and per client address. Its rules and answers are unchanged.
CREATE INDEX "runs_owner_source" ON "runs" USING btree ("owner","source","started_at" desc);--> statement-breakpoint
CREATE OR REPLACE FUNCTION "trellis_admit_run"(
  new_id text, new_owner text, new_source text, new_workflow_id text, new_version integer, new_edited boolean,
  new_share_link_id text, new_document jsonb, new_inputs jsonb, new_process_id text,
  window_ms double precision, rate_limit bigint, live_for_ms double precision,
  max_running bigint, max_running_per_identity bigint, max_model_slots bigint, wanted_slots bigint,
  from_address text, address_limit bigint, new_payer text, daily_tokens double precision, run_tokens double precision
) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
  in_window interval := make_interval(secs => window_ms / 1000);
  live_since timestamptz := now() - make_interval(secs => live_for_ms / 1000);
  midnight timestamptz := date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  counted bigint;
  free_in_ms double precision;
  running_now bigint;
  running_mine bigint;
  slots_held bigint;
  free_slots bigint;
  spent double precision;
  budget double precision := run_tokens;
  slots bigint;
BEGIN
  -- One server-wide lock, held to the end of the statement's transaction: the caps are server-wide.
  -- The two-key form keeps it apart from single-key locks (the migration lock).
  PERFORM pg_advisory_xact_lock(hashtext('trellis:admission'), 0);

  -- At most `rate_limit` runs are read (runs_owner_source): enough to know the identity is at its
  -- limit, and the oldest of those is the one whose leaving the window makes room.
  SELECT count(*), extract(epoch from (min(w.started_at) + in_window - now())) * 1000 INTO counted, free_in_ms
    FROM (SELECT r.started_at FROM runs r WHERE r.owner = new_owner AND r.source = new_source AND r.started_at > now() - in_window
      ORDER BY r.started_at DESC LIMIT greatest(rate_limit, 0)) w;
  IF counted >= rate_limit THEN
    RETURN json_build_object('ok', false, 'code', 'rate-limited', 'freeInMs', greatest(0, coalesce(free_in_ms, 0)));
  END IF;

  SELECT count(*), count(*) FILTER (WHERE r.owner = new_owner), coalesce(sum(coalesce(r.model_slots, 1)), 0)
    INTO running_now, running_mine, slots_held
    FROM runs r WHERE r.status = 'running' AND r.started_at > live_since;
  IF running_now >= max_running THEN
    RETURN json_build_object('ok', false, 'code', 'busy', 'scope', 'runs', 'limit', max_running);
  END IF;
  free_slots := max_model_slots - slots_held;
  IF free_slots < 1 THEN
    RETURN json_build_object('ok', false, 'code', 'busy', 'scope', 'model-calls', 'limit', max_model_slots);
  END IF;
  IF running_mine >= max_running_per_identity THEN
    RETURN json_build_object('ok', false, 'code', 'rate-limited', 'scope', 'running', 'limit', max_running_per_identity, 'freeInMs', 5000);
  END IF;

  IF from_address IS NOT NULL THEN
    SELECT count(*), extract(epoch from (min(w.started_at) + in_window - now())) * 1000 INTO counted, free_in_ms
      FROM (SELECT r.started_at FROM runs r WHERE r.client_address = from_address AND r.source = 'share' AND r.started_at > now() - in_window
        ORDER BY r.started_at DESC LIMIT greatest(address_limit, 0)) w;
    IF counted >= address_limit THEN
      RETURN json_build_object('ok', false, 'code', 'rate-limited', 'scope', 'address', 'limit', address_limit, 'freeInMs', greatest(0, coalesce(free_in_ms, 0)));
    END IF;
  END IF;

  IF daily_tokens > 0 THEN
    -- Runs that ended count what they used: daily_spend holds their sum (migration 0004). Runs in
    -- progress count their budget while live; one still `running` past `live_for_ms` counts what its
    -- record says it used, until the sweep ends it into daily_spend. Own runs (editor, eval) and
    -- shared-link visitors' runs (share) have budgets apart.
    SELECT coalesce(sum(d.tokens), 0) INTO spent FROM daily_spend d
      WHERE d.payer = new_payer AND d.scope = CASE WHEN new_source = 'share' THEN 'share' ELSE 'own' END
        AND d.day = (now() AT TIME ZONE 'UTC')::date;
    spent := spent + (
      SELECT coalesce(sum(CASE WHEN r.started_at > live_since THEN coalesce(r.token_budget, 0) ELSE trellis_run_tokens(r.usage, r.check_usage) END), 0)
        FROM runs r
        WHERE r.payer = new_payer AND r.status = 'running' AND r.started_at >= midnight
          AND CASE WHEN new_source = 'share' THEN r.source = 'share' ELSE r.source IN ('editor', 'eval') END);
    IF daily_tokens - spent < 1 THEN
      RETURN json_build_object('ok', false, 'code', 'budget-exceeded', 'used', spent, 'limit', daily_tokens,
        'freeInMs', greatest(0, extract(epoch from (midnight + interval '1 day' - now())) * 1000));
    END IF;
    budget := least(budget, floor(daily_tokens - spent));
  END IF;

  slots := greatest(1, least(wanted_slots, free_slots));
  INSERT INTO runs (id, owner, workflow_id, version, edited, source, share_link_id, document, inputs, process_id, status, payer, client_address, model_slots, token_budget)
    VALUES (new_id, new_owner, new_workflow_id, new_version, coalesce(new_edited, false), new_source, new_share_link_id, new_document, new_inputs,
      new_process_id, 'running', new_payer, from_address, slots, budget)
    ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN json_build_object('ok', false, 'code', 'duplicate');
  END IF;
  RETURN json_build_object('ok', true, 'modelSlots', slots, 'tokenBudget', budget);
END
$$;
