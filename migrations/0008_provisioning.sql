CREATE TABLE "connector_rate_buckets" (
	"key" text PRIMARY KEY NOT NULL,
	"tokens" double precision NOT NULL,
	"refilled_at" timestamp with time zone NOT NULL,
	"blocked_until" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "provisioning_attempts" (
	"organization_id" text NOT NULL,
	"id" text NOT NULL,
	"destination_id" text NOT NULL,
	"user_id" text NOT NULL,
	"job_id" text,
	"operation" text NOT NULL,
	"request" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"outcome" text NOT NULL,
	"http_status" integer,
	"latency_ms" integer NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provisioning_attempts_pkey" PRIMARY KEY("organization_id","id")
);
--> statement-breakpoint
CREATE TABLE "provisioning_destinations" (
	"organization_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"credentials_sealed" text NOT NULL,
	"policy" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"rate_limit" jsonb,
	"concurrency" integer DEFAULT 4 NOT NULL,
	"max_attempts" integer DEFAULT 6 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provisioning_destinations_pkey" PRIMARY KEY("organization_id","id")
);
--> statement-breakpoint
CREATE TABLE "provisioning_rules" (
	"organization_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"position" integer NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"condition" jsonb NOT NULL,
	"effects" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provisioning_rules_pkey" PRIMARY KEY("organization_id","id")
);
--> statement-breakpoint
CREATE TABLE "provisioning_states" (
	"organization_id" text NOT NULL,
	"destination_id" text NOT NULL,
	"user_id" text NOT NULL,
	"desired" jsonb,
	"actual" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"remote_id" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"removal_after" timestamp with time zone,
	"drift" jsonb,
	"last_error" text,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"synced_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provisioning_states_pkey" PRIMARY KEY("organization_id","destination_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "provisioning_attempts" ADD CONSTRAINT "provisioning_attempts_destination_fkey" FOREIGN KEY ("organization_id","destination_id") REFERENCES "public"."provisioning_destinations"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provisioning_destinations" ADD CONSTRAINT "provisioning_destinations_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provisioning_rules" ADD CONSTRAINT "provisioning_rules_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provisioning_states" ADD CONSTRAINT "provisioning_states_destination_fkey" FOREIGN KEY ("organization_id","destination_id") REFERENCES "public"."provisioning_destinations"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "provisioning_attempts_destination_idx" ON "provisioning_attempts" USING btree ("organization_id","destination_id","id");--> statement-breakpoint
CREATE INDEX "provisioning_attempts_user_idx" ON "provisioning_attempts" USING btree ("organization_id","user_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "provisioning_destinations_id_key" ON "provisioning_destinations" USING btree ("id");--> statement-breakpoint
CREATE UNIQUE INDEX "provisioning_destinations_name_key" ON "provisioning_destinations" USING btree ("organization_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "provisioning_rules_id_key" ON "provisioning_rules" USING btree ("id");--> statement-breakpoint
CREATE INDEX "provisioning_rules_order_idx" ON "provisioning_rules" USING btree ("organization_id","position");--> statement-breakpoint
CREATE INDEX "provisioning_states_user_idx" ON "provisioning_states" USING btree ("organization_id","user_id");--> statement-breakpoint
CREATE INDEX "provisioning_states_status_idx" ON "provisioning_states" USING btree ("organization_id","destination_id","status");