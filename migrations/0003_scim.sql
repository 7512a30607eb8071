CREATE TABLE "directories" (
	"organization_id" text NOT NULL,
	"id" text NOT NULL,
	"kind" text NOT NULL,
	"provider" text NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"credentials" text,
	"sync_state" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_activity_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "directories_pkey" PRIMARY KEY("organization_id","id")
);
--> statement-breakpoint
CREATE TABLE "directory_tokens" (
	"organization_id" text NOT NULL,
	"id" text NOT NULL,
	"directory_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"token_prefix" text NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "directory_tokens_pkey" PRIMARY KEY("organization_id","id")
);
--> statement-breakpoint
CREATE TABLE "scim_groups" (
	"organization_id" text NOT NULL,
	"directory_id" text NOT NULL,
	"group_id" text NOT NULL,
	"display_name" text NOT NULL,
	"external_id" text,
	"resource" jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "scim_groups_pkey" PRIMARY KEY("organization_id","directory_id","group_id")
);
--> statement-breakpoint
CREATE TABLE "scim_users" (
	"organization_id" text NOT NULL,
	"directory_id" text NOT NULL,
	"user_id" text NOT NULL,
	"user_name" text NOT NULL,
	"external_id" text,
	"display_name" text,
	"active" boolean DEFAULT true NOT NULL,
	"email_values" text[] DEFAULT '{}'::text[] NOT NULL,
	"resource" jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "scim_users_pkey" PRIMARY KEY("organization_id","directory_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "directories" ADD CONSTRAINT "directories_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "directory_tokens" ADD CONSTRAINT "directory_tokens_directory_fkey" FOREIGN KEY ("organization_id","directory_id") REFERENCES "public"."directories"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scim_groups" ADD CONSTRAINT "scim_groups_directory_fkey" FOREIGN KEY ("organization_id","directory_id") REFERENCES "public"."directories"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scim_groups" ADD CONSTRAINT "scim_groups_group_fkey" FOREIGN KEY ("organization_id","group_id") REFERENCES "public"."groups"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scim_users" ADD CONSTRAINT "scim_users_directory_fkey" FOREIGN KEY ("organization_id","directory_id") REFERENCES "public"."directories"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scim_users" ADD CONSTRAINT "scim_users_user_fkey" FOREIGN KEY ("organization_id","user_id") REFERENCES "public"."users"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "directories_id_key" ON "directories" USING btree ("id");--> statement-breakpoint
CREATE UNIQUE INDEX "directory_tokens_hash_key" ON "directory_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "directory_tokens_directory_idx" ON "directory_tokens" USING btree ("organization_id","directory_id");--> statement-breakpoint
CREATE UNIQUE INDEX "scim_groups_group_key" ON "scim_groups" USING btree ("organization_id","group_id");--> statement-breakpoint
CREATE UNIQUE INDEX "scim_groups_display_name_key" ON "scim_groups" USING btree ("organization_id","directory_id",lower("display_name"));--> statement-breakpoint
CREATE INDEX "scim_groups_external_id_idx" ON "scim_groups" USING btree ("organization_id","directory_id","external_id");--> statement-breakpoint
CREATE UNIQUE INDEX "scim_users_user_key" ON "scim_users" USING btree ("organization_id","user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "scim_users_user_name_key" ON "scim_users" USING btree ("organization_id","directory_id",lower("user_name"));--> statement-breakpoint
CREATE INDEX "scim_users_external_id_idx" ON "scim_users" USING btree ("organization_id","directory_id","external_id");--> statement-breakpoint
CREATE INDEX "scim_users_display_name_idx" ON "scim_users" USING btree ("organization_id","directory_id",lower("display_name"));--> statement-breakpoint
CREATE INDEX "scim_users_email_values_idx" ON "scim_users" USING gin ("email_values");