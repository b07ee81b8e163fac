CREATE TABLE "eval_dataset_versions" (
	"dataset_id" text NOT NULL,
	"version" integer NOT NULL,
	"dataset" jsonb NOT NULL,
	"row_count" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "eval_dataset_versions_pkey" PRIMARY KEY("dataset_id","version")
);
--> statement-breakpoint
CREATE TABLE "eval_datasets" (
	"id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"workflow_id" text NOT NULL,
	"name" text NOT NULL,
	"latest_version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "eval_results" (
	"evaluation_id" text NOT NULL,
	"row_id" text NOT NULL,
	"index" integer NOT NULL,
	"run_id" text,
	"status" text NOT NULL,
	"pass" boolean NOT NULL,
	"outputs" jsonb NOT NULL,
	"verdicts" jsonb NOT NULL,
	"usage" jsonb NOT NULL,
	"latency_ms" integer NOT NULL,
	"cost_usd" double precision,
	"finished_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "eval_results_pkey" PRIMARY KEY("evaluation_id","row_id")
);
--> statement-breakpoint
CREATE TABLE "eval_share_links" (
	"id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"evaluation_id" text NOT NULL,
	"after_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "evaluations" (
	"id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"workflow_id" text NOT NULL,
	"version" integer NOT NULL,
	"dataset_id" text NOT NULL,
	"dataset_version" integer NOT NULL,
	"status" text NOT NULL,
	"concurrency" integer NOT NULL,
	"total" integer NOT NULL,
	"summary" jsonb,
	"error" jsonb,
	"process_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "eval_dataset_versions" ADD CONSTRAINT "eval_dataset_versions_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "public"."eval_datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "eval_datasets" ADD CONSTRAINT "eval_datasets_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "eval_results" ADD CONSTRAINT "eval_results_evaluation_id_fkey" FOREIGN KEY ("evaluation_id") REFERENCES "public"."evaluations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "eval_results" ADD CONSTRAINT "eval_results_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "eval_share_links" ADD CONSTRAINT "eval_share_links_evaluation_id_fkey" FOREIGN KEY ("evaluation_id") REFERENCES "public"."evaluations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "eval_share_links" ADD CONSTRAINT "eval_share_links_after_id_fkey" FOREIGN KEY ("after_id") REFERENCES "public"."evaluations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "public"."eval_datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "eval_datasets_workflow" ON "eval_datasets" USING btree ("workflow_id","updated_at" desc);--> statement-breakpoint
CREATE INDEX "eval_share_links_owner" ON "eval_share_links" USING btree ("owner","created_at" desc);--> statement-breakpoint
CREATE INDEX "evaluations_workflow" ON "evaluations" USING btree ("workflow_id","created_at" desc);--> statement-breakpoint
CREATE INDEX "evaluations_dataset" ON "evaluations" USING btree ("dataset_id","created_at" desc);--> statement-breakpoint
CREATE INDEX "evaluations_running" ON "evaluations" USING btree ("status") WHERE "evaluations"."status" IN ('queued', 'running');