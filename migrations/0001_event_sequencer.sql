DROP INDEX "events_cursor_idx";--> statement-breakpoint
DROP INDEX "events_org_cursor_idx";--> statement-breakpoint
DROP INDEX "events_subject_idx";--> statement-breakpoint
ALTER TABLE "event_consumers" ADD COLUMN "position" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "position" bigint;--> statement-breakpoint
CREATE UNIQUE INDEX "events_position_key" ON "events" USING btree ("position");--> statement-breakpoint
CREATE INDEX "events_unsequenced_idx" ON "events" USING btree ("id") WHERE "events"."position" is null;--> statement-breakpoint
CREATE INDEX "events_org_position_idx" ON "events" USING btree ("organization_id","position");--> statement-breakpoint
CREATE INDEX "events_subject_position_idx" ON "events" USING btree ("subject_id","position");--> statement-breakpoint
ALTER TABLE "event_consumers" DROP COLUMN "cursor_tx_id";--> statement-breakpoint
ALTER TABLE "event_consumers" DROP COLUMN "cursor_id";--> statement-breakpoint
ALTER TABLE "events" DROP COLUMN "tx_id";