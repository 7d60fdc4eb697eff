using System;
using System.Text;

namespace MsSync.Native
{
    /// <summary>
    /// The application layer: thin typed methods over the JSON functions of mssync.h. Views come back as
    /// the JSON the header documents for each function; failures throw <see cref="MsSyncException"/>
    /// with the status code (and any exception a host callback threw as the inner exception).
    /// </summary>
    public sealed partial class MsSyncEngine
    {
        /// <summary>The actor for the host's own operator (Service without a signed-in admin).</summary>
        public const string HostActor = "{\"kind\":\"host\"}";

        /// <summary>The actor for a signed-in user (Service checks the user is an ERP.net administrator).</summary>
        public static string UserActor(string userId)
        {
            return "{\"kind\":\"user\",\"user_id\":\"" + JsonEscape(userId) + "\"}";
        }

        public string Service(string actorJson)
        {
            var h = Handle; var a = Utf8(actorJson);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_service_get(h, a, Len(a), ref o, out e));
        }

        public string SetService(string actorJson, string changeJson)
        {
            var h = Handle; var a = Utf8(actorJson); var c = Utf8(changeJson);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_service_set(h, a, Len(a), c, Len(c), ref o, out e));
        }

        /// <summary>{"url": "..."}: where an administrator consents to MsSync's permissions.</summary>
        public string ConsentUrl(string actorJson)
        {
            var h = Handle; var a = Utf8(actorJson);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_service_consent_url(h, a, Len(a), ref o, out e));
        }

        /// <summary>The admin-consent redirect came back: its query values (null for absent ones).
        /// Throws unless the state is one <see cref="ConsentUrl"/> issued (once, while fresh) and
        /// consent was granted for the connected tenant; then call <see cref="Connect"/>.</summary>
        public void CompleteAdminConsent(string actorJson, string state, string adminConsent, string tenant,
            string error, string errorDescription)
        {
            var h = Handle; var a = Utf8(actorJson); var s = Utf8(state); var c = Utf8(adminConsent);
            var t = Utf8(tenant); var r = Utf8(error); var d = Utf8(errorDescription);
            Call((out ErrorHandle e) => Native.mss_service_complete_consent(h, a, Len(a), s, Len(s), c, Len(c), t, Len(t),
                r, Len(r), d, Len(d), out e));
        }

        public string Connect(string actorJson, string probeMailbox)
        {
            var h = Handle; var a = Utf8(actorJson); var m = Utf8(probeMailbox);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_service_connect(h, a, Len(a), m, Len(m), ref o, out e));
        }

        public string GivePermissions(string actorJson)
        {
            var h = Handle; var a = Utf8(actorJson);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_service_give_permissions(h, a, Len(a), ref o, out e));
        }

        public string GrantDomain(string actorJson, string domain)
        {
            var h = Handle; var a = Utf8(actorJson); var d = Utf8(domain);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_service_grant_domain(h, a, Len(a), d, Len(d), ref o, out e));
        }

        public string RevokeDomain(string actorJson, string domain)
        {
            var h = Handle; var a = Utf8(actorJson); var d = Utf8(domain);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_service_revoke_domain(h, a, Len(a), d, Len(d), ref o, out e));
        }

        /// <summary>{"authorize_url", "state"}; <paramref name="loginHint"/> may be null.
        /// <paramref name="binding"/> is the host's value for the browser session that signs in
        /// (a hash of its session cookie): only the same binding completes the sign-in.</summary>
        public string BeginSignIn(string loginHint, string binding)
        {
            var h = Handle; var l = Utf8(loginHint); var b = Utf8(binding);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_signin_begin(h, l, Len(l), b, Len(b), ref o, out e));
        }

        /// <summary>The session: {"user_id", "email", "name", "is_admin", "first_sign_in"}, for the
        /// browser session <paramref name="binding"/> names (the one that began the sign-in).</summary>
        public string CompleteSignIn(string state, string code, string binding)
        {
            var h = Handle; var s = Utf8(state); var c = Utf8(code); var b = Utf8(binding);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_signin_complete(h, s, Len(s), c, Len(c), b, Len(b), ref o, out e));
        }

        /// <summary>Entra ID redirected back with an error: always throws the refusal explained.</summary>
        public void FailSignIn(string state, string error, string description)
        {
            var h = Handle; var s = Utf8(state); var r = Utf8(error); var d = Utf8(description);
            Call((out ErrorHandle e) => Native.mss_signin_fail(h, s, Len(s), r, Len(r), d, Len(d), out e));
        }

        /// <summary>Throws (LocalCredentials) when a host session's provider is not a Microsoft identity.</summary>
        public void CheckSession(string provider)
        {
            var h = Handle; var p = Utf8(provider);
            Call((out ErrorHandle e) => Native.mss_session_check(h, p, Len(p), out e));
        }

        public string Setup(string userId)
        {
            var h = Handle; var u = Utf8(userId);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_setup_get(h, u, Len(u), ref o, out e));
        }

        public string SetupOptions(string userId)
        {
            var h = Handle; var u = Utf8(userId);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_setup_options(h, u, Len(u), ref o, out e));
        }

        public string SetCompany(string userId, string companyId, string locationId)
        {
            var h = Handle; var u = Utf8(userId); var c = Utf8(companyId); var l = Utf8(locationId);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) =>
                Native.mss_setup_set_company(h, u, Len(u), c, Len(c), l, Len(l), ref o, out e));
        }

        public string ChangeSetup(string userId, string changeJson)
        {
            var h = Handle; var u = Utf8(userId); var c = Utf8(changeJson);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_setup_change(h, u, Len(u), c, Len(c), ref o, out e));
        }

        public string SetJobEnabled(string userId, string job, bool enabled)
        {
            var h = Handle; var u = Utf8(userId); var j = Utf8(job);
            byte flag = enabled ? (byte)1 : (byte)0;
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_setup_set_job(h, u, Len(u), j, Len(j), flag, ref o, out e));
        }

        public string RequestFullRefresh(string userId, string job)
        {
            var h = Handle; var u = Utf8(userId); var j = Utf8(job);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_setup_full_refresh(h, u, Len(u), j, Len(j), ref o, out e));
        }

        public string Home(string userId)
        {
            var h = Handle; var u = Utf8(userId);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_home_get(h, u, Len(u), ref o, out e));
        }

        /// <summary>
        /// One operation of the browser panels (<c>home</c>, <c>setup</c>, <c>setup_options</c>,
        /// <c>set_company</c>, <c>change_setup</c>, <c>set_job_enabled</c>, <c>request_full_refresh</c>,
        /// <c>sync_now</c>) for <paramref name="signedInUserId"/>, the user your own authenticated session
        /// signed in, with the request JSON as the page sent it; returns the view's JSON. Never take the
        /// user from the page: a request naming a user or an actor is refused (InvalidJson).
        /// </summary>
        public string UserApi(string signedInUserId, string operation, string requestJson)
        {
            var h = Handle; var u = Utf8(signedInUserId); var op = Utf8(operation); var r = Utf8(requestJson ?? "");
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_user_api(h, u, Len(u), op, Len(op), r, Len(r), ref o, out e));
        }

        /// <summary>
        /// [{"user_id", "job", "due_since", "notified", "routed"}]: what the host's scheduler runs now,
        /// notified and routed jobs first. Hand each element back to <see cref="RunDueJob"/>.
        /// </summary>
        public string DueJobs()
        {
            var h = Handle;
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_jobs_due(h, ref o, out e));
        }

        /// <summary>
        /// The answer to a request Graph sent to the host's notification endpoint. Pass the request as
        /// received, <c>{"query": "raw query without ?", "content_type": "...", "body": "..."}</c>; send
        /// back exactly <c>{"status", "content_type" (null: none), "body"}</c> and log <c>"log"</c> when
        /// not null. It never runs a sync: answer Graph first, then run <see cref="DueJobs"/>.
        /// </summary>
        public string ReceiveNotification(string requestJson)
        {
            var h = Handle; var r = Utf8(requestJson);
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_notification_receive(h, r, Len(r), ref o, out e));
        }

        /// <summary>Runs a job ("calendar" or "mail") and returns its run report.</summary>
        public string RunJob(string userId, string job, bool dryRun)
        {
            var h = Handle; var u = Utf8(userId); var j = Utf8(job);
            byte flag = dryRun ? (byte)1 : (byte)0;
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_job_run(h, u, Len(u), j, Len(j), flag, ref o, out e));
        }

        /// <summary>
        /// Runs a due job (one element of <see cref="DueJobs"/>, as JSON) if it is still this engine's to
        /// run: claimed in the store, run, and the claim ended. Returns its run report, or <c>null</c> when
        /// another node ran it since the list was made or is running it. Every node of the cluster runs
        /// its scheduler with this, so each due time runs once.
        /// </summary>
        public string RunDueJob(string dueJobJson)
        {
            var h = Handle; var d = Utf8(dueJobJson);
            var report = CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_job_run_due(h, d, Len(d), ref o, out e));
            return report == "null" ? null : report;
        }

        /// <summary>Up to <paramref name="max"/> events (log lines, run reports, notifications) as a JSON array.</summary>
        public string PollEvents(uint max)
        {
            var h = Handle;
            return CallForBuffer((ref Native.MssBuffer o, out ErrorHandle e) => Native.mss_events_poll(h, max, ref o, out e));
        }

        private static byte[] Utf8(string text)
        {
            return Encoding.UTF8.GetBytes(text ?? "");
        }

        private static UIntPtr Len(byte[] bytes)
        {
            return (UIntPtr)bytes.Length;
        }

        private static string JsonEscape(string text)
        {
            var result = new StringBuilder();
            foreach (var c in text ?? "")
            {
                if (c == '"' || c == '\\') result.Append('\\').Append(c);
                else if (c < ' ') result.Append("\\u").Append(((int)c).ToString("x4"));
                else result.Append(c);
            }
            return result.ToString();
        }
    }
}
