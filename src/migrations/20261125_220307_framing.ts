import { MigrateUpArgs, MigrateDownArgs, sql } from '@payloadcms/db-postgres'

export async function up({ db, payload, req }: MigrateUpArgs): Promise<void> {
  await db.execute(sql`
   ALTER TABLE "avatars" ADD COLUMN "crop" jsonb;
  ALTER TABLE "avatars" ADD COLUMN "shapes" jsonb;
  ALTER TABLE "avatars" ADD COLUMN "focal_x" numeric;
  ALTER TABLE "avatars" ADD COLUMN "focal_y" numeric;
  ALTER TABLE "category_images" ADD COLUMN "crop" jsonb;
  ALTER TABLE "category_images" ADD COLUMN "shapes" jsonb;
  ALTER TABLE "category_images" ADD COLUMN "focal_x" numeric;
  ALTER TABLE "category_images" ADD COLUMN "focal_y" numeric;
  ALTER TABLE "product_images" ADD COLUMN "crop" jsonb;
  ALTER TABLE "product_images" ADD COLUMN "shapes" jsonb;
  ALTER TABLE "product_images" ADD COLUMN "focal_x" numeric;
  ALTER TABLE "product_images" ADD COLUMN "focal_y" numeric;
  ALTER TABLE "media" ADD COLUMN "crop" jsonb;
  ALTER TABLE "media" ADD COLUMN "shapes" jsonb;
  ALTER TABLE "media" ADD COLUMN "focal_x" numeric;
  ALTER TABLE "media" ADD COLUMN "focal_y" numeric;`)
}

export async function down({ db, payload, req }: MigrateDownArgs): Promise<void> {
  await db.execute(sql`
   ALTER TABLE "avatars" DROP COLUMN "crop";
  ALTER TABLE "avatars" DROP COLUMN "shapes";
  ALTER TABLE "avatars" DROP COLUMN "focal_x";
  ALTER TABLE "avatars" DROP COLUMN "focal_y";
  ALTER TABLE "category_images" DROP COLUMN "crop";
  ALTER TABLE "category_images" DROP COLUMN "shapes";
  ALTER TABLE "category_images" DROP COLUMN "focal_x";
  ALTER TABLE "category_images" DROP COLUMN "focal_y";
  ALTER TABLE "product_images" DROP COLUMN "crop";
  ALTER TABLE "product_images" DROP COLUMN "shapes";
  ALTER TABLE "product_images" DROP COLUMN "focal_x";
  ALTER TABLE "product_images" DROP COLUMN "focal_y";
  ALTER TABLE "media" DROP COLUMN "crop";
  ALTER TABLE "media" DROP COLUMN "shapes";
  ALTER TABLE "media" DROP COLUMN "focal_x";
  ALTER TABLE "media" DROP COLUMN "focal_y";`)
}
