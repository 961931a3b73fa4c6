// Package metrics counts what a `handset load` run does: sign-ins, failures
// bucketed by outcome and reason (STYLE.md rule 6: the Reason field of an
// event is the bucket, message text is never parsed), latency histograms with
// explicit buckets, calls. It implements sipua.Observer per handset and
// renders the results as the periodic stats.csv, handsets.csv, calls.csv,
// summary.json, a live status line and Prometheus metrics.
//
// Counter names follow Microsoft's Lync Stress and Performance Tool
// (LyncPerfTool) so Lync admins can read the reports: Active Endpoints, Logon
// Attempts, Failed Logons, Endpoints Disconnected, Calls
// Attempted/Established/Active and VoIP Pass Rate %.
//
// # Files written by `handset load --out DIR`
//
// Column sets are fixed; new columns are only ever appended.
//
// stats.csv, one row per --stats-period and a last row after the drain:
//
//	timestamp            RFC 3339, UTC
//	elapsed_s            seconds since the run started
//	active_endpoints     gauge: handsets registered now
//	calls_active         gauge: calls in progress
//	<counter>(P), <counter>(C)   for every counter, in Counter order:
//	    logon_attempts, logons, failed_logons, endpoints_disconnected,
//	    handsets_registered, reregistrations, unregistrations, keepalives,
//	    messages_sent, messages_received, calls_attempted,
//	    calls_established, calls_failed, logons_aborted, retry_backoffs,
//	    server_changes, calls_media_failed, calls_aborted
//	failures(P), failures(C)     sum of the failure table
//	signin_{p50,p95,p99}_ms(P|C), call_setup_{p50,p95,p99}_ms(P|C)
//
// (P) is the period since the previous row, (C) cumulative. The (P) columns
// add up exactly to the last (C) row and to summary.json's totals, because
// every row is the difference of two consecutive snapshots.
//
// handsets.csv, one row per handset: index, handset (MAC), final_state,
// registered, logons, reregistrations, failed_logons, disconnects,
// calls_attempted, calls_established, last_outcome, last_status,
// last_reason, last_error.
//
// calls.csv, one row per call (a CDR): start, handset, from, callee,
// established, setup_ms, duration_ms, outcome, status, reason,
// packets_sent, packets_received, lost, jitter_ms, srtp_failures
// (authentication failures + MKI mismatches + replays), srtp (the media was
// encrypted).
//
// summary.json: start, end, duration_s, handsets, shard, target, time_scale,
// real_equivalents, totals (every counter plus failures), counters (the
// LyncPerfTool names), active_endpoints {at_stop, final, peak},
// registered_pct, voip_pass_rate, signin_latency_ms and
// call_setup_latency_ms {p50, p95, p99, count}, failures [{kind, outcome,
// status, reason, count}], criteria [{expr, got, pass}], goroutines_at_stop,
// pass, notes.
//
// A failure's kind is "logon" (a sign-in attempt failed), "registered" (a
// live registration was lost) or "call". Sign-ins cut short by the run's own
// graceful stop count as logons_aborted, calls still in setup then as
// calls_aborted, not as failures.
//
// Calls: calls_attempted = calls_established + calls_failed + calls_aborted.
// An established call held at least MinMediaHold whose media failed (no
// packet sent or received, or any SRTP failure) stays established but
// counts in calls_media_failed and in the failure table (outcome media).
// VoIP Pass Rate % = (calls_established − calls_media_failed) /
// (calls_attempted − calls_aborted).
//
// # Prometheus (--metrics ADDR, /metrics)
//
// handset_<counter>_total for every counter, handset_handsets{state},
// handset_active_endpoints, handset_calls_active,
// handset_failures_total{kind,outcome,code,reason},
// handset_signin_duration_seconds and handset_call_setup_duration_seconds
// (histograms over DefaultBuckets). No per-user labels.
package metrics
