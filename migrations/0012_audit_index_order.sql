DROP INDEX "events_actor_position_idx";--> statement-breakpoint
DROP INDEX "events_org_type_time_idx";--> statement-breakpoint
CREATE INDEX "events_org_position_desc_idx" ON "events" USING btree ("organization_id","position" DESC NULLS LAST) WHERE "events"."position" is not null;--> statement-breakpoint
CREATE INDEX "events_actor_position_idx" ON "events" USING btree (("actor" ->> 'id'),"position" DESC NULLS LAST) WHERE "events"."position" is not null;--> statement-breakpoint
CREATE INDEX "events_org_type_time_idx" ON "events" USING btree ("organization_id","type","occurred_at","subject_id");