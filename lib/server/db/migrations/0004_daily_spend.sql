CREATE TABLE "daily_spend" (
	"payer" text NOT NULL,
	"scope" text NOT NULL,
	"day" date NOT NULL,
	"tokens" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "daily_spend_pkey" PRIMARY KEY("payer","scope","day")
);
--> statement-breakpoint
CREATE INDEX "runs_payer_running" ON "runs" USING btree ("payer","started_at") WHERE "runs"."status" = 'running';--> statement-breakpoint
-- A run's tokens: its own (usage) and, for an evaluation's row, its checks' (check_usage).
CREATE FUNCTION "trellis_run_tokens"(usage jsonb, check_usage jsonb) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce((usage->>'inputTokens')::bigint, 0) + coalesce((usage->>'outputTokens')::bigint, 0)
    + coalesce((check_usage->>'inputTokens')::bigint, 0) + coalesce((check_usage->>'outputTokens')::bigint, 0)
$$;
--> statement-breakpoint
-- Keeps daily_spend equal to the sum of the tokens of the runs that are not running, per payer,
-- scope and UTC day the run started on: a row's old contribution goes, its new one comes. So a
-- run's end (running → succeeded, failed, cancelled, interrupted) adds what it used once; writing
-- the same end again adds nothing; check usage written later adds itself; a run taken back up
-- (interrupted → running, cluster mode) takes its part out until it ends again.
CREATE FUNCTION "trellis_daily_spend_of_run"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was_scope text; was_day date; was_tokens bigint := 0;
  now_scope text; now_day date; now_tokens bigint := 0;
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.payer IS NOT NULL AND OLD.status <> 'running' THEN
    was_scope := CASE WHEN OLD.source = 'share' THEN 'share' WHEN OLD.source IN ('editor', 'eval') THEN 'own' END;
    was_day := (OLD.started_at AT TIME ZONE 'UTC')::date;
    was_tokens := trellis_run_tokens(OLD.usage, OLD.check_usage);
  END IF;
  IF NEW.payer IS NOT NULL AND NEW.status <> 'running' THEN
    now_scope := CASE WHEN NEW.source = 'share' THEN 'share' WHEN NEW.source IN ('editor', 'eval') THEN 'own' END;
    now_day := (NEW.started_at AT TIME ZONE 'UTC')::date;
    now_tokens := trellis_run_tokens(NEW.usage, NEW.check_usage);
  END IF;
  IF was_scope IS NOT NULL AND now_scope IS NOT NULL AND was_scope = now_scope AND OLD.payer = NEW.payer AND was_day = now_day THEN
    now_tokens := now_tokens - was_tokens;
  ELSIF was_scope IS NOT NULL AND was_tokens <> 0 THEN
    INSERT INTO daily_spend AS d (payer, scope, "day", tokens) VALUES (OLD.payer, was_scope, was_day, -was_tokens)
      ON CONFLICT (payer, scope, "day") DO UPDATE SET tokens = d.tokens + EXCLUDED.tokens;
  END IF;
  IF now_scope IS NOT NULL AND now_tokens <> 0 THEN
    INSERT INTO daily_spend AS d (payer, scope, "day", tokens) VALUES (NEW.payer, now_scope, now_day, now_tokens)
      ON CONFLICT (payer, scope, "day") DO UPDATE SET tokens = d.tokens + EXCLUDED.tokens;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "runs_daily_spend" AFTER INSERT OR UPDATE OF status, usage, check_usage, payer, source, started_at ON "runs"
  FOR EACH ROW EXECUTE FUNCTION "trellis_daily_spend_of_run"();
--> statement-breakpoint
-- What runs spent before this migration (after the trigger: it locks runs against writes until
-- the migration commits, so none is counted twice or missed).
INSERT INTO "daily_spend" (payer, scope, "day", tokens)
  SELECT payer, CASE WHEN source = 'share' THEN 'share' ELSE 'own' END, (started_at AT TIME ZONE 'UTC')::date, sum(trellis_run_tokens(usage, check_usage))
  FROM "runs"
  WHERE payer IS NOT NULL AND status <> 'running' AND source IN ('editor', 'eval', 'share')
  GROUP BY 1, 2, 3
  HAVING sum(trellis_run_tokens(usage, check_usage)) <> 0;
