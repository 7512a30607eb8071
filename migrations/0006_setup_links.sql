CREATE TABLE "setup_links" (
	"organization_id" text NOT NULL,
	"id" text NOT NULL,
	"intent" text NOT NULL,
	"label" text,
	"token_hash" text NOT NULL,
	"token_prefix" text NOT NULL,
	"connection_id" text,
	"directory_id" text,
	"created_by" jsonb NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "setup_links_pkey" PRIMARY KEY("organization_id","id")
);
--> statement-breakpoint
ALTER TABLE "setup_links" ADD CONSTRAINT "setup_links_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "setup_links_id_key" ON "setup_links" USING btree ("id");--> statement-breakpoint
CREATE UNIQUE INDEX "setup_links_token_hash_key" ON "setup_links" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "setup_links_org_created_idx" ON "setup_links" USING btree ("organization_id","created_at");--> statement-breakpoint
CREATE INDEX "setup_links_connection_idx" ON "setup_links" USING btree ("organization_id","connection_id") WHERE "setup_links"."connection_id" is not null;