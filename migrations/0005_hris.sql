CREATE TABLE "hris_records" (
	"organization_id" text NOT NULL,
	"directory_id" text NOT NULL,
	"source_id" text NOT NULL,
	"user_id" text,
	"match_status" text NOT NULL,
	"match_detail" jsonb,
	"employee" jsonb NOT NULL,
	"field_changed_at" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"hash" text NOT NULL,
	"deactivated_user" boolean DEFAULT false NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "hris_records_pkey" PRIMARY KEY("organization_id","directory_id","source_id")
);
--> statement-breakpoint
CREATE TABLE "hris_settings" (
	"organization_id" text PRIMARY KEY NOT NULL,
	"match_by" jsonb NOT NULL,
	"context_fields" jsonb NOT NULL,
	"new_in_role_days" integer NOT NULL,
	"level_bands" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hris_sync_runs" (
	"organization_id" text NOT NULL,
	"id" text NOT NULL,
	"directory_id" text NOT NULL,
	"mode" text NOT NULL,
	"trigger" text NOT NULL,
	"status" text NOT NULL,
	"checkpoint" text,
	"since" text,
	"attempts" integer DEFAULT 1 NOT NULL,
	"stats" jsonb NOT NULL,
	"seen_ids" jsonb,
	"error" jsonb,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "hris_sync_runs_pkey" PRIMARY KEY("organization_id","id")
);
--> statement-breakpoint
ALTER TABLE "hris_records" ADD CONSTRAINT "hris_records_directory_fkey" FOREIGN KEY ("organization_id","directory_id") REFERENCES "public"."directories"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hris_settings" ADD CONSTRAINT "hris_settings_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hris_sync_runs" ADD CONSTRAINT "hris_sync_runs_directory_fkey" FOREIGN KEY ("organization_id","directory_id") REFERENCES "public"."directories"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "hris_records_user_idx" ON "hris_records" USING btree ("organization_id","user_id");--> statement-breakpoint
CREATE INDEX "hris_records_manager_idx" ON "hris_records" USING btree ("organization_id","directory_id",("employee" -> 'fields' ->> 'manager'));--> statement-breakpoint
CREATE INDEX "hris_records_match_idx" ON "hris_records" USING btree ("organization_id","directory_id","match_status");--> statement-breakpoint
CREATE INDEX "hris_sync_runs_directory_idx" ON "hris_sync_runs" USING btree ("organization_id","directory_id","started_at");--> statement-breakpoint
CREATE INDEX "users_org_employee_id_idx" ON "users" USING btree ("organization_id",("external_ids" ->> 'employee_id'));--> statement-breakpoint
CREATE INDEX "users_org_employee_number_idx" ON "users" USING btree ("organization_id",("profile" ->> 'employeeNumber'));