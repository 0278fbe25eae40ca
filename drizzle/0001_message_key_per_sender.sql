ALTER TABLE "messages" DROP CONSTRAINT "messages_message_key_unique";--> statement-breakpoint
CREATE INDEX "messages_room_id_message_key_idx" ON "messages" USING btree ("room_id","message_key");--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_sender_id_message_key_unique" UNIQUE("sender_id","message_key");