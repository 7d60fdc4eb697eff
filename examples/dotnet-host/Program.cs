using System;
using System.Net.Http;
using System.Text.RegularExpressions;
using MsSync.Native;

namespace MsSync.Examples
{
    /// <summary>
    /// The smallest .NET host of libmssync: HTTP on HttpClient, an in-memory store, and one sync
    /// of a user's calendar against the simulators (their JSON line in MSS_SIMS_JSON; run.sh
    /// starts them). A real host keeps the store in its database and, on a timer, hands each of
    /// DueJobs to RunDueJob.
    /// </summary>
    public static class Program
    {
        private static string sims;

        private static string Sim(string key)
        {
            var match = Regex.Match(sims, "\"" + Regex.Escape(key) + "\":\"([^\"]*)\"");
            if (!match.Success) throw new InvalidOperationException("the simulators' line has no " + key);
            return match.Groups[1].Value;
        }

        private static string Field(string json, string key)
        {
            var match = Regex.Match(json, "\"" + Regex.Escape(key) + "\":\"([^\"]*)\"");
            return match.Success ? match.Groups[1].Value : "";
        }

        /// <summary>What a browser does with an Entra ID address: the query of the redirect.</summary>
        private static string Redirected(string url, string name)
        {
            using (var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }))
            using (var response = client.GetAsync(url).Result)
            {
                var query = response.Headers.Location.Query.TrimStart('?');
                foreach (var pair in query.Split('&'))
                {
                    var parts = pair.Split(new[] { '=' }, 2);
                    if (parts[0] == name && parts.Length == 2) return Uri.UnescapeDataString(parts[1]);
                }
                return "";
            }
        }

        public static int Main()
        {
            sims = Environment.GetEnvironmentVariable("MSS_SIMS_JSON");
            if (string.IsNullOrEmpty(sims))
            {
                Console.Error.WriteLine("Start the simulators first: examples/dotnet-host/run.sh does it for you.");
                return 2;
            }
            var config = "{\"authority\":\"" + Sim("authority") + "\",\"graph_base_url\":\"" + Sim("graph_base_url") +
                "\",\"erp_base_url\":\"" + Sim("erp_base_url") + "\",\"erp_access\":{\"kind\":\"trusted_app\"," +
                "\"identity_base\":\"" + Sim("erp_identity_base") + "\",\"client_id\":\"" + Sim("erp_client_id") +
                "\",\"client_secret\":\"" + Sim("erp_client_secret") + "\"},\"redirect_uri\":\"" + Sim("redirect_uri") +
                "\",\"runner_id\":\"dotnet-host\",\"sealing_key\":\"" + Convert.ToBase64String(new byte[32]) + "\"}";
            try
            {
                using (var engine = new MsSyncEngine(new HttpClientMsSyncHttp(), new MsSync.Native.Tests.InMemoryStore(), config))
                {
                    var host = MsSyncEngine.HostActor;
                    engine.SetService(host, "{\"tenant_id\":\"" + Sim("tenant_id") + "\",\"client_id\":\"" + Sim("client_id") +
                        "\",\"mode\":\"application\",\"credential\":{\"kind\":\"secret\",\"secret\":\"" + Sim("client_secret") + "\"}}");
                    Redirected(Field(engine.ConsentUrl(host), "url"), "admin_consent");
                    engine.GivePermissions(host);
                    engine.GrantDomain(host, Sim("domain"));

                    var authorize = Field(engine.BeginSignIn(Sim("alice_email"), "dotnet-host-browser-session"), "authorize_url");
                    var session = engine.CompleteSignIn(Redirected(authorize, "state"), Redirected(authorize, "code"), "dotnet-host-browser-session");
                    var user = Field(session, "user_id");
                    engine.SetCompany(user, Sim("company_id"), Sim("location_id"));
                    engine.SetJobEnabled(user, "calendar", true);

                    Console.WriteLine(engine.RunJob(user, "calendar", false));
                    Console.WriteLine(engine.Home(user));
                    return 0;
                }
            }
            catch (MsSyncException e)
            {
                Console.Error.WriteLine("error " + e.StatusCode + " (" + e.StatusName + "): " + e.Message);
                return 1;
            }
        }
    }
}
