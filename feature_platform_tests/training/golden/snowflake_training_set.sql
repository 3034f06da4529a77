CREATE OR REPLACE TABLE "FEATURES"."OFFLINE"."TRAINING_SET__0123456789AB" AS
WITH
"FP_LABELS" AS (
  SELECT
    ROW_NUMBER() OVER (ORDER BY "EVENT_TIMESTAMP", "USER_ID", "ITEM_ID") - 1 AS "FP_ROW",
    "EVENT_TIMESTAMP" AS "FP_T",
    "USER_ID" AS "K0_0",
    "USER_ID" AS "K1_0",
    "ITEM_ID" AS "K1_1",
    "USER_ID",
    "ITEM_ID",
    "EVENT_TIMESTAMP",
    "LABEL"
  FROM "FEATURES"."OFFLINE"."LABELS" AS "FP_SOURCE"
),
"FP_G0_ROWS" AS (
  SELECT
    "user_id",
    "event_time",
    "clicks"
  FROM "FEATURES"."OFFLINE"."USER_CLICKS"
  WHERE "event_time" <= (SELECT MAX("FP_T") FROM "FP_LABELS")
  QUALIFY ROW_NUMBER() OVER (PARTITION BY "user_id", "event_time" ORDER BY "created_at" DESC) = 1
),
"FP_G0_EVENTS" AS (
  SELECT
    "user_id" AS "K0_0",
    "event_time" AS "FP_T",
    0 AS "FP_KIND",
    NULL AS "FP_ROW",
    "event_time" AS "FP_WINNER"
  FROM "FP_G0_ROWS"
  UNION ALL
  SELECT
    "K0_0",
    "FP_T",
    1,
    "FP_ROW",
    NULL
  FROM "FP_LABELS"
),
"FP_G0_MATCH" AS (
  SELECT
    "FP_ROW",
    "K0_0",
    "FP_T",
    MAX("FP_WINNER") OVER (PARTITION BY "K0_0" ORDER BY "FP_T", "FP_KIND" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "FP_WINNER"
  FROM "FP_G0_EVENTS"
  QUALIFY "FP_KIND" = 1
),
"FP_G0" AS (
  SELECT
    m."FP_ROW",
    r."clicks" AS "user_clicks__clicks",
    NULL AS "ctr"
  FROM "FP_G0_MATCH" AS m
  LEFT JOIN "FP_G0_ROWS" AS r ON r."user_id" = m."K0_0" AND r."event_time" = m."FP_WINNER" AND r."event_time" >= DATEADD(second, -86400, m."FP_T")
),
"FP_G1_ROWS" AS (
  SELECT
    "user_id",
    "item_id",
    "event_time",
    "seen"
  FROM "FEATURES"."OFFLINE"."PAIRS"
  WHERE "event_time" <= (SELECT MAX("FP_T") FROM "FP_LABELS")
  QUALIFY ROW_NUMBER() OVER (PARTITION BY "user_id", "item_id", "event_time" ORDER BY "created_at" DESC) = 1
),
"FP_G1_EVENTS" AS (
  SELECT
    "user_id" AS "K1_0",
    "item_id" AS "K1_1",
    "event_time" AS "FP_T",
    0 AS "FP_KIND",
    NULL AS "FP_ROW",
    "event_time" AS "FP_WINNER"
  FROM "FP_G1_ROWS"
  UNION ALL
  SELECT
    "K1_0",
    "K1_1",
    "FP_T",
    1,
    "FP_ROW",
    NULL
  FROM "FP_LABELS"
),
"FP_G1_MATCH" AS (
  SELECT
    "FP_ROW",
    "K1_0",
    "K1_1",
    "FP_T",
    MAX("FP_WINNER") OVER (PARTITION BY "K1_0", "K1_1" ORDER BY "FP_T", "FP_KIND" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "FP_WINNER"
  FROM "FP_G1_EVENTS"
  QUALIFY "FP_KIND" = 1
),
"FP_G1" AS (
  SELECT
    m."FP_ROW",
    r."seen" AS "seen"
  FROM "FP_G1_MATCH" AS m
  LEFT JOIN "FP_G1_ROWS" AS r ON r."user_id" = m."K1_0" AND r."item_id" = m."K1_1" AND r."event_time" = m."FP_WINNER"
)
SELECT
  l."FP_ROW",
  l."USER_ID",
  l."ITEM_ID",
  l."EVENT_TIMESTAMP",
  l."LABEL",
  "FP_G0"."user_clicks__clicks",
  "FP_G0"."ctr",
  "FP_G1"."seen"
FROM "FP_LABELS" AS l
LEFT JOIN "FP_G0" ON "FP_G0"."FP_ROW" = l."FP_ROW"
LEFT JOIN "FP_G1" ON "FP_G1"."FP_ROW" = l."FP_ROW"
ORDER BY l."FP_ROW"
