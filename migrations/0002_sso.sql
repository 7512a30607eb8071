CREATE TABLE "sso_assertion_ids" (
	"organization_id" text NOT NULL,
	"connection_id" text NOT NULL,
	"issuer" text NOT NULL,
	"assertion_id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sso_assertion_ids_pkey" PRIMARY KEY("organization_id","connection_id","issuer","assertion_id")
);
--> statement-breakpoint
CREATE TABLE "sso_connections" (
	"organization_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"protocol" text NOT NULL,
	"preset" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"mapping" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"client_secret_sealed" text,
	"private_key_sealed" text,
	"certificate" text,
	"warnings" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sso_connections_pkey" PRIMARY KEY("organization_id","id")
);
--> statement-breakpoint
CREATE TABLE "sso_login_flows" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text,
	"connection_id" text,
	"stage" text NOT NULL,
	"saml_request_id" text,
	"oidc_secrets_sealed" text,
	"browser_binding_hash" text,
	"continuation" jsonb,
	"login_hint" text,
	"trace_id" text,
	"expires_at" timestamp with time zone NOT NULL,
	"consumed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sso_login_traces" (
	"organization_id" text NOT NULL,
	"id" text NOT NULL,
	"connection_id" text,
	"protocol" text NOT NULL,
	"status" text NOT NULL,
	"error_code" text,
	"reason" text,
	"email" text,
	"subject" text,
	"user_id" text,
	"steps" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"ip" text,
	"user_agent" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "sso_login_traces_pkey" PRIMARY KEY("organization_id","id")
);
--> statement-breakpoint
ALTER TABLE "sso_assertion_ids" ADD CONSTRAINT "sso_assertion_ids_connection_fkey" FOREIGN KEY ("organization_id","connection_id") REFERENCES "public"."sso_connections"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sso_connections" ADD CONSTRAINT "sso_connections_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sso_login_flows" ADD CONSTRAINT "sso_login_flows_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sso_login_traces" ADD CONSTRAINT "sso_login_traces_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sso_assertion_ids_expires_idx" ON "sso_assertion_ids" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sso_connections_id_key" ON "sso_connections" USING btree ("id");--> statement-breakpoint
CREATE INDEX "sso_connections_org_idx" ON "sso_connections" USING btree ("organization_id","enabled");--> statement-breakpoint
CREATE UNIQUE INDEX "sso_login_flows_saml_request_key" ON "sso_login_flows" USING btree ("connection_id","saml_request_id") WHERE "sso_login_flows"."saml_request_id" is not null;--> statement-breakpoint
CREATE INDEX "sso_login_flows_expires_idx" ON "sso_login_flows" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sso_login_traces_id_key" ON "sso_login_traces" USING btree ("id");--> statement-breakpoint
CREATE INDEX "sso_login_traces_org_created_idx" ON "sso_login_traces" USING btree ("organization_id","id");--> statement-breakpoint
CREATE INDEX "sso_login_traces_org_connection_idx" ON "sso_login_traces" USING btree ("organization_id","connection_id","id");--> statement-breakpoint
CREATE INDEX "sso_login_traces_org_email_idx" ON "sso_login_traces" USING btree ("organization_id",lower("email"));