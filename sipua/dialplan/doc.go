// Package dialplan turns a Lync location profile (dial plan) into what a
// Spectralink 84-Series handset uses, step by step as the seed's Appendix C
// ("How the 84-Series Phone Processes the Lync Dial Plan") describes, and
// normalizes dialled numbers with the result.
//
// The steps, each capped at Limit (10,000) characters:
//
//  1. Each rule becomes pattern@translation@0|1 (IsInternalExtension), with a
//     missing ^ or $ added; rules are joined with '|'. A rule that would push
//     the string past the limit is dropped together with every later rule.
//     The result is dialplan.1.originaldigitmap.
//  2. Emergency rules built from the emergency dial string and mask are
//     appended, with the same truncation.
//  3. Alternation (a|b|c) is expanded by duplicating the rule once per
//     alternative: at most MaxAlternatives (30) alternatives, each at most
//     MaxAlternativeLen (32) characters, and one extra level of parentheses
//     around an alternative, ((a)|(b)). A rule breaking these limits, or whose
//     expansion does not fit, is dropped on its own; later rules still count.
//  4. Each expanded pattern is converted to an RFC 3435 §2.1.5 digit map
//     string; a rule that does not fit is dropped with every later rule
//     (the seed says the string is truncated). The result is
//     dialplan.1.digitmap.
//
// Every dropped rule is logged with the token DIALPLANERROR at slog.LevelWarn:
// the seed logs these at Polycom level 4 ("minor error", seen at normal
// levels). Inputs and outputs of steps 3 and 4 are logged at slog.LevelDebug,
// as the phone does at log.level.change.pps=2 / utilm=3.
//
// Choices where the seed is silent (documented so labfe and tests agree):
//   - Emergency rules: the dial string D gives ^D$@D@0, and every entry M of
//     the mask (separated by ';' or ',') gives ^M$@D@0, i.e. dialling a masked
//     number places a call to the emergency dial string.
//   - Several alternation groups in one pattern expand to their product; the
//     product counts against MaxAlternatives.
//   - Alternation outside parentheses (^1|2$) is dropped: in the rule string
//     '|' already separates rules.
//   - Digit-map conversion: \d, [0-9] and . become x; other classes stay
//     [..]; x* becomes x. and x+ becomes xx.; {n} repeats; {n,m} and ? become
//     separate digit-map alternatives; an open-ended string ends with T (the
//     inter-digit timer, RFC 3435 §2.1.5). A literal '+' cannot be dialled on
//     a keypad, so an optional \+? contributes only its empty form and a
//     required \+ makes the rule unconvertible (dropped at step 4).
//   - Normalization uses the rules that survive all four steps, first match
//     wins (MS-SIPRE §3.1.5: rules are applied in order), with Go's RE2 in
//     place of .NET regular expressions; the translation's $1 / ${name}
//     references are the [MC-RegEx] replacement syntax.
package dialplan
