using System;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;

namespace MsSync.Native.Tests
{
    /// <summary>
    /// The application layer through MsSyncEngine against the three simulators (the mssync-sims
    /// binary; its JSON line in MSS_SIMS_JSON), with HTTP on HttpClient completing from pool threads.
    /// </summary>
    public static class AppFlowTests
    {
        private const string SealingKey = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="; // 32 bytes

        private static string Sims
        {
            get { return Environment.GetEnvironmentVariable("MSS_SIMS_JSON") ?? ""; }
        }

        /// <summary>A string value of flat JSON (no escapes in the values these tests read).</summary>
        public static string Json(string json, string key)
        {
            var match = Regex.Match(json ?? "", "\"" + Regex.Escape(key) + "\":\"([^\"]*)\"");
            if (!match.Success) throw new Exception("no \"" + key + "\" in " + Truncate(json));
            return match.Groups[1].Value;
        }

        private static string Array(string json, string key)
        {
            var match = Regex.Match(json ?? "", "\"" + Regex.Escape(key) + "\":\\[([^\\]]*)\\]");
            if (!match.Success) throw new Exception("no array \"" + key + "\" in " + Truncate(json));
            return match.Groups[1].Value;
        }

        private static string Truncate(string text)
        {
            text = text ?? "";
            return text.Length > 300 ? text.Substring(0, 300) + "..." : text;
        }

        private static void Assert(bool condition, string what)
        {
            if (!condition) throw new Exception("assertion failed: " + what);
        }

        private static string Sim(string key)
        {
            return Json(Sims, key);
        }

        public static string AppConfig()
        {
            return "{\"authority\":\"" + Sim("authority") + "\",\"graph_base_url\":\"" + Sim("graph_base_url") +
                   "\",\"erp_base_url\":\"" + Sim("erp_base_url") + "\",\"erp_access\":{\"kind\":\"trusted_app\"," +
                   "\"identity_base\":\"" + Sim("erp_identity_base") + "\",\"client_id\":\"" + Sim("erp_client_id") +
                   "\",\"client_secret\":\"" + Sim("erp_client_secret") + "\"},\"redirect_uri\":\"" + Sim("redirect_uri") +
                   "\",\"runner_id\":\"dotnet-host\",\"sealing_key\":\"" + SealingKey + "\"}";
        }

        /// <summary>The first hop of a browser: the redirect's Location.</summary>
        private static Uri Follow(string url)
        {
            using (var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }))
            using (var response = client.GetAsync(url).Result)
            {
                Assert((int)response.StatusCode == 302, "a redirect, got " + (int)response.StatusCode);
                return response.Headers.Location;
            }
        }

        private static string Query(Uri uri, string name)
        {
            foreach (var pair in uri.Query.TrimStart('?').Split('&'))
            {
                var parts = pair.Split(new[] { '=' }, 2);
                if (parts[0] == name && parts.Length == 2) return Uri.UnescapeDataString(parts[1].Replace('+', ' '));
            }
            return null;
        }

        public static void WholeFlowSyncsBothWays()
        {
            var http = new ThreadCountingHttp(new HttpClientMsSyncHttp());
            using (var engine = new MsSyncEngine(http, new InMemoryStore(), AppConfig()))
            {
                var host = MsSyncEngine.HostActor;
                var view = engine.SetService(host, "{\"tenant_id\":\"" + Sim("tenant_id") + "\",\"client_id\":\"" +
                    Sim("client_id") + "\",\"mode\":\"application\",\"credential\":{\"kind\":\"secret\",\"secret\":\"" +
                    Sim("client_secret") + "\"}}");
                Assert(view.Contains("\"credential\":\"secret\"") && !view.Contains(Sim("client_secret")), "secret hidden");
                var consent = Follow(Json(engine.ConsentUrl(host), "url"));
                Assert(Query(consent, "admin_consent") == "True", "admin consent granted");
                var connect = engine.Connect(host, Sim("admin_oid"));
                Assert(connect.Contains("\"token\":true,\"graph\":true"), connect);
                var permissions = engine.GivePermissions(host);
                Assert(permissions.Contains("\"missing\":[]"), permissions);
                engine.GrantDomain(host, Sim("domain"));

                var start = engine.BeginSignIn(Sim("alice_email"), "dotnet-browser-session");
                var back = Follow(Json(start, "authorize_url"));
                var session = engine.CompleteSignIn(Query(back, "state"), Query(back, "code"), "dotnet-browser-session");
                var user = Json(session, "user_id");
                Assert(Json(session, "email") == Sim("alice_email"), session);

                engine.SetCompany(user, Sim("company_id"), Sim("location_id"));
                engine.ChangeSetup(user, "{\"time_zone\":\"FLE Standard Time\"}");
                var setup = engine.SetJobEnabled(user, "calendar", true);
                Assert(setup.Contains("\"enabled\":true"), setup);
                var due = engine.DueJobs();
                Assert(due.Contains(user), "the job is due");
                // The scheduler's path: the due job is claimed and run once; handed back again, it is no
                // longer due (another node holding the same list would get the same null).
                var dueJob = DueJobOf(due, user);
                var first = engine.RunDueJob(dueJob);
                Assert(first != null, "the due job ran");
                Assert(engine.RunDueJob(dueJob) == null, "a due time runs once");
                Assert(first.Contains("\"to_outlook\":{\"created\":1,") && first.Contains("\"to_erp\":{\"created\":1,"), first);
                string items;
                using (var client = new HttpClient())
                    items = client.GetStringAsync(Sim("inspect_url")).Result;
                foreach (var side in new[] { "outlook", "erp" })
                {
                    var subjects = Array(items, side);
                    Assert(subjects.Contains(Sim("activity_subject")) && subjects.Contains(Sim("event_subject")),
                        side + " has both items: " + items);
                }
                var second = engine.RunJob(user, "calendar", false);
                Assert(second.Contains("\"to_outlook\":{\"created\":0,\"updated\":0,\"removed\":0}") &&
                       second.Contains("\"to_erp\":{\"created\":0,\"updated\":0,\"removed\":0}"), second);
                // The Mail job by its id: Alice's message reaches her ERP.net mailbox; read in
                // ERP.net, it is read in Outlook.
                engine.SetJobEnabled(user, "mail", true);
                var mailFirst = engine.RunJob(user, "mail", false);
                Assert(mailFirst.Contains("\"to_erp\":{\"created\":1,"), mailFirst);
                using (var client = new HttpClient())
                {
                    items = client.GetStringAsync(Sim("inspect_url")).Result;
                    Assert(Array(items, "mail_erp").Contains(Sim("message_subject")), "the message is in ERP.net: " + items);
                    var read = client.PostAsync(Sim("control_url") + "/mail/read-in-erp", new StringContent("")).Result;
                    Assert((int)read.StatusCode == 204, "read in ERP.net");
                    var mailSecond = engine.RunJob(user, "mail", false);
                    Assert(mailSecond.Contains("\"to_outlook\":{\"created\":0,\"updated\":1,"), mailSecond);
                    items = client.GetStringAsync(Sim("inspect_url")).Result;
                    Assert(Array(items, "mail_outlook").Contains("\"read\":true"), "read in Outlook: " + items);
                }
                var home = engine.Home(user);
                Assert(home.Contains("\"state\":\"Operational\""), home);
                // Several threads at once: Home reads and dry runs (which read both sides over HTTP).
                var threads = new Thread[4];
                var failures = 0;
                for (int i = 0; i < threads.Length; i++)
                {
                    bool dry = i % 2 == 0;
                    threads[i] = new Thread(() =>
                    {
                        try
                        {
                            var result = dry ? engine.RunJob(user, "calendar", true) : engine.Home(user);
                            if (!result.Contains(dry ? "\"dry_run\":true" : "\"state\":\"Operational\"")) Interlocked.Increment(ref failures);
                        }
                        catch (MsSyncException e)
                        {
                            // Two dry runs may meet on the job's lease; that is the only refusal allowed.
                            if (e.StatusName != "lease_held") Interlocked.Increment(ref failures);
                        }
                    });
                    threads[i].Start();
                }
                foreach (var thread in threads) thread.Join();
                Assert(failures == 0, failures + " concurrent calls failed");
                var events = engine.PollEvents(1000);
                Assert(events.Contains("\"kind\":\"log\"") && events.Contains("\"kind\":\"run\""), Truncate(events));
                Assert(http.OtherThreadCompletions > 0, "HTTP completed from pool threads");
            }
        }

        /// <summary>
        /// The panels' operations for the signed-in user: the host passes the user its own session
        /// signed in; a request naming another user is refused and changes nothing.
        /// </summary>
        public static void UserApiActsForTheSignedInUserOnly()
        {
            using (var engine = new MsSyncEngine(new HttpClientMsSyncHttp(), new InMemoryStore(), AppConfig()))
            {
                var host = MsSyncEngine.HostActor;
                engine.SetService(host, "{\"tenant_id\":\"" + Sim("tenant_id") + "\",\"client_id\":\"" +
                    Sim("client_id") + "\",\"mode\":\"application\",\"credential\":{\"kind\":\"secret\",\"secret\":\"" +
                    Sim("client_secret") + "\"}}");
                Follow(Json(engine.ConsentUrl(host), "url"));
                engine.GrantDomain(host, Sim("domain"));
                Func<string, string> signIn = email =>
                {
                    var back = Follow(Json(engine.BeginSignIn(email, "dotnet-panels"), "authorize_url"));
                    return Json(engine.CompleteSignIn(Query(back, "state"), Query(back, "code"), "dotnet-panels"), "user_id");
                };
                var alice = signIn(Sim("alice_email"));
                var second = signIn(Sim("second_email"));

                var home = engine.UserApi(second, "home", "");
                Assert(home.Contains(Sim("second_email")) && !home.Contains(Sim("alice_email")), home);
                string refused = null;
                try
                {
                    engine.UserApi(second, "set_job_enabled",
                        "{\"job\":\"calendar\",\"enabled\":true,\"user_id\":\"" + alice + "\"}");
                }
                catch (MsSyncException e)
                {
                    refused = e.StatusName;
                }
                Assert(refused == "invalid_json", "a forged user is refused, got " + (refused ?? "success"));
                refused = null;
                try
                {
                    engine.UserApi(second, "service", "{}");
                }
                catch (MsSyncException e)
                {
                    refused = e.StatusName;
                }
                Assert(refused == "invalid_argument", "no Service among the panels' operations, got " + (refused ?? "success"));

                var setup = engine.UserApi(second, "set_job_enabled", "{\"job\":\"calendar\",\"enabled\":true}");
                Assert(setup.Contains("\"enabled\":true"), setup);
                var aliceSetup = engine.UserApi(alice, "setup", "{}");
                Assert(aliceSetup.Contains("\"enabled\":false"), aliceSetup);
            }
        }

        /// <summary>The element of a due-jobs array that names <paramref name="user"/> (flat objects).</summary>
        private static string DueJobOf(string due, string user)
        {
            var at = due.IndexOf("\"user_id\":\"" + user + "\"", StringComparison.Ordinal);
            Assert(at >= 0, "due for " + user + ": " + due);
            var start = due.LastIndexOf('{', at);
            return due.Substring(start, due.IndexOf('}', at) - start + 1);
        }

        public static void AppCallsRefuseBadInput()
        {
            using (var engine = new MsSyncEngine(new HttpClientMsSyncHttp(), new InMemoryStore()))
            {
                var e = Expect(() => engine.Service("{\"kind\":"));
                Assert(e.StatusName == "invalid_json", e.StatusName);
                e = Expect(() => engine.BeginSignIn(null, "dotnet-browser-session"));
                Assert(e.StatusName == "not_configured", e.StatusName);
                e = Expect(() => engine.Home("nobody"));
                Assert(e.StatusName == "not_found", e.StatusName);
                e = Expect(() => engine.SetJobEnabled("nobody", "payroll", true));
                Assert(e.StatusName == "unknown_job", e.StatusName);
                e = Expect(() => engine.CheckSession("local"));
                Assert(e.StatusName == "local_credentials", e.StatusName);
                engine.CheckSession("microsoft");
                e = Expect(() => engine.FailSignIn("s", "access_denied", "AADSTS50020: identity provider 'live.com'"));
                Assert(e.StatusName == "personal_account", e.StatusName);
                Assert(engine.PollEvents(10) == "[]", "no events");
            }
            var missing = Expect(() => new MsSyncEngine(new HttpClientMsSyncHttp(), new InMemoryStore(),
                "{\"authority\":\"http://127.0.0.1:1\"}"));
            Assert(missing.StatusName == "invalid_json", missing.StatusName);
        }

        private static MsSyncException Expect(Action action)
        {
            try
            {
                action();
            }
            catch (MsSyncException e)
            {
                return e;
            }
            throw new Exception("expected an MsSyncException");
        }

        /// <summary>Counts completions that come back on another thread than the engine call's.</summary>
        private sealed class ThreadCountingHttp : IMsSyncHttp
        {
            private readonly IMsSyncHttp inner;
            private int otherThread;

            public ThreadCountingHttp(IMsSyncHttp inner)
            {
                this.inner = inner;
            }

            public int OtherThreadCompletions
            {
                get { return Volatile.Read(ref otherThread); }
            }

            public async System.Threading.Tasks.Task<MsSyncHttpResponse> SendAsync(MsSyncHttpRequest request)
            {
                int caller = Thread.CurrentThread.ManagedThreadId;
                var response = await inner.SendAsync(request).ConfigureAwait(false);
                if (Thread.CurrentThread.ManagedThreadId != caller) Interlocked.Increment(ref otherThread);
                return response;
            }
        }
    }
}
