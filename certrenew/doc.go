// Package certrenew implements the handset's user-certificate renewal: the
// schedule of the Spectralink 84-Series Lync 2013 interop guide ("User
// Certificate Renewal Process"), a [Renewer] that runs it for one handset, and
// the [Store] that holds the current certificate for TLS-DSK.
//
// # The schedule
//
// The seed says the handset sends the first renewal request "at the lower of
// ¼ of the total certificate duration remaining, or 30 days before
// certificate expiry". Read literally, as the lower of the two remaining
// times: the first attempt is made when the time left falls to
// min(¼ × total lifetime, 30 days). After a failed attempt the next one is 10
// minutes later, then 20, 30 … with a maximum back-off of 60 minutes, and
// attempts continue every 60 minutes until the certificate expires. No
// attempt is made before NotBefore or at/after NotAfter. A renewal "may"
// cause "a small period of no service (less than 1 second)"; the Renewer
// measures that gap and reports it.
//
// Worked example (every attempt failing; T = NotBefore; the same numbers
// come out of `handset cert schedule`, and ExamplePolicy_Plan checks them):
//
//	certificate  lead (¼ life, ≤30 d)  1st attempt            retries after failures (back-off)               attempts
//	1 year       30 d                  T+335 d (30 d left)    +10m +20m +30m +40m +50m, then every 60m        723, last 30m before expiry
//	90 days      22 d 12 h             T+67 d 12 h            +10m +20m +30m +40m +50m, then every 60m        543, last 30m before expiry
//	8 hours      2 h                   T+6h00                 6h10, 6h30, 7h00, 7h40 (next, 8h30, is past)    5
//	1 hour       15 min                T+0h45                 0h55 (next, 1h15, is past)                      2
//
// For the 1-year certificate issued 2026-01-01T00:00Z the attempts are at
// 2026-12-02T00:00Z, 00:10, 00:30, 01:00, 01:40, 02:30, 03:30, 04:30 … and
// the last at 2026-12-31T23:30Z.
//
// # Expired certificates
//
// A certificate already expired when [Renewer.Run] starts is reported to the
// caller as an [*ExpiredError]; the caller applies the seed's rule: a handset
// signed in with full credentials signs in again with NTLM and obtains a new
// certificate, a PIN-authenticated one stops and asks for extension and PIN
// (they are not cached). When every attempt fails until expiry, Run returns a
// [*RenewalFailedError] that says since when renewal has been failing (seed:
// "the phones will not be able to renew certificates and may fail to register
// as their certificates expire").
//
// # Refused certificates
//
// A renewal that returns a certificate valid for less than Config.MinValidity
// (one hour, issue #5) is refused: the old certificate stays in the Store,
// the attempt counts as failed ([*ShortCertificateError]) and the back-off
// continues. Accepting it would start the next renewal within minutes and,
// across a fleet, turn a misconfigured certificate service into a storm.
//
// # Branch offices
//
// The seed's branch-office note needs a handset to have stayed connected to
// the main site for at least ten minutes before an outage, so that it holds a
// user certificate and can register with TLS-DSK at the Survivable Branch
// Appliance. The Renewer keeps that certificate current; obtaining the first
// one at sign-in is the handset's job.
//
// # Time
//
// The policy ([Policy.Next]) is pure. The Renewer reads time through a
// [Clock] and wakes at least once per maximum back-off to re-evaluate the
// schedule, so wall-clock jumps are honoured within an hour. Tests run a
// year of schedule in milliseconds with testing/synctest; a load run
// compresses renewal with [Config.Scaled] and/or [NewScaledClock].
//
// certrenew defines [Issuer]; the certificate-provisioning client
// (auth/certprov) implements it. The package imports no other project package.
package certrenew
