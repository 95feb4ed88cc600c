package analyticstest

import "math"

// Case is a query over the fixture and the result every backend must give.
type Case struct {
	Name    string
	SQL     string
	Columns []string // result column names
	Want    [][]any  // rows, as analytics.Result values
}

// inHour is the WHERE clause of an hour's time range.
const inHour = `ts >= toDateTime('2024-05-01 10:00:00', 'UTC') AND ts < toDateTime('2024-05-01 11:00:00', 'UTC')`

// Cases are the representative queries: the shapes the validator's
// worker-utility windows and the analyst path need.
func Cases() []Case {
	return []Case{
		{
			Name: "ten_minute_windows",
			SQL: `SELECT worker,
       toDateTime(intDiv(toUInt32(ts), 600) * 600, 'UTC') AS window_start,
       count() AS records,
       sum(bytes) AS bytes,
       uniqExact(content_hash) AS unique_hashes,
       avg(score) AS avg_score,
       argMax(event_id, ts) AS last_event
FROM conf_events
WHERE ` + inHour + `
GROUP BY worker, window_start
ORDER BY worker, window_start`,
			Columns: []string{"worker", "window_start", "records", "bytes", "unique_hashes", "avg_score", "last_event"},
			Want: [][]any{
				{"w1", T("2024-05-01 10:00:00"), uint64(3), uint64(900), uint64(2), 2.0 / 3, "e04"},
				{"w1", T("2024-05-01 10:10:00"), uint64(1), uint64(500), uint64(1), 1.5, "e05"},
				{"w2", T("2024-05-01 10:00:00"), uint64(2), uint64(110), uint64(2), 1.25, "e07"},
				{"w2", T("2024-05-01 10:10:00"), uint64(1), uint64(70), uint64(1), 1.25, "e08"},
				{"w3", T("2024-05-01 10:20:00"), uint64(1), uint64(1000), uint64(1), 3.0, "e09"},
				{"w3", T("2024-05-01 10:50:00"), uint64(1), uint64(10), uint64(1), 0.125, "e10"},
			},
		},
		{
			Name: "per_worker_totals",
			SQL: `SELECT worker,
       count() AS records,
       sum(bytes) AS bytes,
       argMax(source, score) AS best_source,
       max(score) AS best,
       min(ts) AS first_seen,
       countIf(ifNull(verified, 0) = 1) AS passed,
       count(verified) AS checked,
       count(note) AS noted
FROM conf_events
GROUP BY worker
ORDER BY worker`,
			Columns: []string{"worker", "records", "bytes", "best_source", "best", "first_seen", "passed", "checked", "noted"},
			Want: [][]any{
				{"w1", uint64(5), uint64(1500), "web", 1.5, T("2024-05-01 09:58:00"), uint64(3), uint64(4), uint64(1)},
				{"w2", uint64(4), uint64(185), "web", 8.0, T("2024-04-30 23:59:59"), uint64(3), uint64(3), uint64(1)},
				{"w3", uint64(3), uint64(1030), "web", 4.0, T("2024-05-01 10:20:00"), uint64(2), uint64(3), uint64(1)},
			},
		},
		{
			Name:    "replacing_final",
			SQL:     `SELECT worker, window_start, records, utility, version FROM conf_windows FINAL ORDER BY worker, window_start`,
			Columns: []string{"worker", "window_start", "records", "utility", "version"},
			Want: [][]any{
				{"w1", T("2024-05-01 10:00:00"), uint64(4), 0.75, uint64(2)},
				{"w1", T("2024-05-01 10:10:00"), uint64(1), 0.1, uint64(1)},
				{"w2", T("2024-05-01 10:00:00"), uint64(2), 0.25, uint64(1)},
			},
		},
		{
			Name:    "aggregate_over_final",
			SQL:     `SELECT worker, sum(records) AS records, sum(utility) AS utility FROM conf_windows FINAL GROUP BY worker ORDER BY worker`,
			Columns: []string{"worker", "records", "utility"},
			Want: [][]any{
				{"w1", uint64(5), 0.75 + 0.1},
				{"w2", uint64(2), 0.25},
			},
		},
		{
			Name:    "time_range_order_limit",
			SQL:     `SELECT event_id, ts, bytes FROM conf_events WHERE ` + inHour + ` ORDER BY bytes DESC, event_id LIMIT 3`,
			Columns: []string{"event_id", "ts", "bytes"},
			Want: [][]any{
				{"e09", T("2024-05-01 10:20:00"), uint64(1000)},
				{"e05", T("2024-05-01 10:10:00"), uint64(500)},
				{"e04", T("2024-05-01 10:09:59"), uint64(400)},
			},
		},
		{
			Name:    "limit_offset",
			SQL:     `SELECT event_id FROM conf_events ORDER BY ts, event_id LIMIT 2 OFFSET 1`,
			Columns: []string{"event_id"},
			Want:    [][]any{{"e01"}, {"e06"}},
		},
		{
			Name: "builtin_windows",
			SQL: `SELECT toStartOfFiveMinute(ts) AS five,
       toStartOfFifteenMinutes(ts) AS fifteen,
       toStartOfHour(ts) AS hour,
       toDate(ts) AS day,
       toYYYYMM(ts) AS month,
       count() AS n
FROM conf_events
WHERE worker = 'w1'
GROUP BY five, fifteen, hour, day, month
ORDER BY five`,
			Columns: []string{"five", "fifteen", "hour", "day", "month", "n"},
			Want: [][]any{
				{T("2024-05-01 09:55:00"), T("2024-05-01 09:45:00"), T("2024-05-01 09:00:00"), D("2024-05-01"), uint64(202405), uint64(1)},
				{T("2024-05-01 10:00:00"), T("2024-05-01 10:00:00"), T("2024-05-01 10:00:00"), D("2024-05-01"), uint64(202405), uint64(2)},
				{T("2024-05-01 10:05:00"), T("2024-05-01 10:00:00"), T("2024-05-01 10:00:00"), D("2024-05-01"), uint64(202405), uint64(1)},
				{T("2024-05-01 10:10:00"), T("2024-05-01 10:00:00"), T("2024-05-01 10:00:00"), D("2024-05-01"), uint64(202405), uint64(1)},
			},
		},
		{
			Name:    "minute_and_day",
			SQL:     `SELECT event_id, toStartOfMinute(ts) AS minute, toStartOfDay(ts) AS day_start FROM conf_events WHERE event_id IN ('e03', 'e12') ORDER BY event_id`,
			Columns: []string{"event_id", "minute", "day_start"},
			Want: [][]any{
				{"e03", T("2024-05-01 10:04:00"), T("2024-05-01 00:00:00")},
				{"e12", T("2024-04-30 23:59:00"), T("2024-04-30 00:00:00")},
			},
		},
		{
			Name:    "arrays",
			SQL:     `SELECT event_id, length(tags) AS n, has(tags, 'a') AS has_a, arraySort(tags) AS sorted FROM conf_events WHERE notEmpty(tags) AND worker != 'w3' ORDER BY event_id`,
			Columns: []string{"event_id", "n", "has_a", "sorted"},
			Want: [][]any{
				{"e01", uint64(1), uint64(1), []any{"a"}},
				{"e02", uint64(2), uint64(1), []any{"a", "b"}},
				{"e04", uint64(1), uint64(0), []any{"b"}},
				{"e05", uint64(1), uint64(1), []any{"a"}},
				{"e06", uint64(1), uint64(0), []any{"c"}},
				{"e08", uint64(2), uint64(1), []any{"a", "c"}},
			},
		},
		{
			Name:    "array_join",
			SQL:     `SELECT tag, count() AS n, uniqExact(worker) AS workers FROM conf_events ARRAY JOIN tags AS tag GROUP BY tag ORDER BY tag`,
			Columns: []string{"tag", "n", "workers"},
			Want: [][]any{
				{"a", uint64(4), uint64(2)},
				{"b", uint64(2), uint64(1)},
				{"c", uint64(2), uint64(1)},
				{"d", uint64(2), uint64(1)},
			},
		},
		{
			Name:    "nullable",
			SQL:     `SELECT event_id, verified, ifNull(note, '') AS note, isNull(verified) AS unverified FROM conf_events WHERE worker = 'w2' ORDER BY event_id`,
			Columns: []string{"event_id", "verified", "note", "unverified"},
			Want: [][]any{
				{"e06", uint64(1), "dup", uint64(0)},
				{"e07", nil, "", uint64(1)},
				{"e08", uint64(1), "", uint64(0)},
				{"e12", uint64(1), "", uint64(0)},
			},
		},
		{
			// -If aggregates whose condition is NULL on every row give NULL on
			// 18.16 and 0 on current ClickHouse: conditions use ifNull.
			Name: "nullable_conditions",
			SQL: `SELECT worker, countIf(ifNull(verified, 0) = 1) AS passed, sumIf(bytes, ifNull(verified, 0) = 0) AS unverified_bytes
FROM conf_events
WHERE event_id IN ('e03', 'e07')
GROUP BY worker
ORDER BY worker`,
			Columns: []string{"worker", "passed", "unverified_bytes"},
			Want:    [][]any{{"w1", uint64(0), uint64(300)}, {"w2", uint64(0), uint64(60)}},
		},
		{
			Name:    "having",
			SQL:     `SELECT worker, uniqExact(content_hash) AS hashes FROM conf_events GROUP BY worker HAVING hashes > 3 ORDER BY worker`,
			Columns: []string{"worker", "hashes"},
			Want:    [][]any{{"w1", uint64(4)}},
		},
		{
			Name: "first_seen_across_workers",
			SQL: `SELECT content_hash, argMin(worker, ts) AS first_worker, min(ts) AS first_ts, uniqExact(worker) AS workers
FROM conf_events
GROUP BY content_hash
HAVING workers > 1
ORDER BY content_hash`,
			Columns: []string{"content_hash", "first_worker", "first_ts", "workers"},
			Want:    [][]any{{"h1", "w2", T("2024-04-30 23:59:59"), uint64(2)}},
		},
		{
			Name: "join_using",
			SQL: `SELECT worker, records, events
FROM (SELECT worker, sum(records) AS records FROM conf_windows FINAL GROUP BY worker) AS w
ANY LEFT JOIN (SELECT worker, count() AS events FROM conf_events GROUP BY worker) AS e USING worker
ORDER BY worker`,
			Columns: []string{"worker", "records", "events"},
			Want: [][]any{
				{"w1", uint64(5), uint64(5)},
				{"w2", uint64(2), uint64(4)},
			},
		},
		{
			Name:    "with_alias_and_in",
			SQL:     `WITH toDateTime('2024-05-01 10:00:00', 'UTC') AS since SELECT count() AS n, sum(bytes) AS bytes FROM conf_events WHERE ts >= since AND source IN ('web', 'twitter') AND worker IN (SELECT worker FROM conf_windows)`,
			Columns: []string{"n", "bytes"},
			Want:    [][]any{{uint64(7), uint64(1580)}},
		},
		{
			Name: "types_round_trip",
			SQL: `SELECT id, u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, s, fs, e, uid, d, dt, ns, nf, lc, lcn, arr, arrs, arr2, arrlc
FROM conf_types ORDER BY id`,
			Columns: TypeColumns,
			Want:    typeWant(),
		},
		{
			Name:    "float_specials",
			SQL:     `SELECT id, f64, isNaN(nf) AS nan, isInfinite(f32) AS inf FROM conf_types WHERE id = 3`,
			Columns: []string{"id", "f64", "nan", "inf"},
			Want:    [][]any{{uint64(3), math.Inf(1), uint64(1), uint64(1)}},
		},
		{
			Name:    "literals",
			SQL:     `SELECT NULL AS n, CAST(NULL AS Nullable(String)) AS s, [] AS e, tuple(toUInt8(1), 'a', [toInt64(-1)]) AS tp, toDate('2024-02-29') AS d`,
			Columns: []string{"n", "s", "e", "tp", "d"},
			Want:    [][]any{{nil, nil, []any{}, []any{uint64(1), "a", []any{int64(-1)}}, D("2024-02-29")}},
		},
		{
			Name:    "empty_result",
			SQL:     `SELECT event_id FROM conf_events WHERE worker = 'nobody'`,
			Columns: []string{"event_id"},
			Want:    nil,
		},
	}
}

func typeWant() [][]any {
	_, want := TypeRows()
	return want
}
