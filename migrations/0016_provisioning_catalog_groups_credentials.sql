CREATE TABLE "provisioning_remote_groups" (
	"organization_id" text NOT NULL,
	"destination_id" text NOT NULL,
	"name" text NOT NULL,
	"remote_id" text,
	"claimed_by" text,
	"claimed_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provisioning_remote_groups_pkey" PRIMARY KEY("organization_id","destination_id","name")
);
--> statement-breakpoint
ALTER TABLE "lms_sites" ALTER COLUMN "api_key_sealed" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "lms_sites" ADD COLUMN "destination_id" text;--> statement-breakpoint
ALTER TABLE "connector_rate_buckets" ADD COLUMN "reset_unit" text;--> statement-breakpoint
ALTER TABLE "provisioning_remote_groups" ADD CONSTRAINT "provisioning_remote_groups_destination_fkey" FOREIGN KEY ("organization_id","destination_id") REFERENCES "public"."provisioning_destinations"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "lms_sites" ADD CONSTRAINT "lms_sites_destination_fkey" FOREIGN KEY ("organization_id","destination_id") REFERENCES "public"."provisioning_destinations"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "lms_sites" ADD CONSTRAINT "lms_sites_one_key_check" CHECK (("lms_sites"."api_key_sealed" is null) <> ("lms_sites"."destination_id" is null));