using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MsSync.Native;

namespace MsSync.Native.Tests
{
    /// <summary>
    /// Console test runner (xunit does not run under Mono here): each test throws on failure. Last line
    /// of output: "N passed, N failed". Needs MSS_TEST_BASE_URL pointing at a loopback server that
    /// serves /hello.txt, and MSS_SIMS_JSON from the mssync-sims binary for the whole flow.
    /// </summary>
    public static class Program
    {
        private static string BaseUrl
        {
            get { return Environment.GetEnvironmentVariable("MSS_TEST_BASE_URL") ?? "http://127.0.0.1:1"; }
        }

        public static int Main()
        {
            var tests = new List<KeyValuePair<string, Action>>
            {
                Test("abi_version_matches", AbiVersionMatches),
                Test("time_zones_come_back_as_json", TimeZonesComeBackAsJson),
                Test("csharp_store_passes_conformance", CSharpStorePassesConformance),
                Test("broken_csharp_store_fails_conformance", BrokenStoreFailsConformance),
                Test("store_exception_is_the_inner_exception", StoreExceptionIsTheInnerException),
                Test("dispose_twice_is_safe", DisposeTwiceIsSafe),
                Test("bad_config_is_a_typed_error", BadConfigIsATypedError),
                Test("panic_is_a_typed_error", PanicIsATypedError),
                Test("http_completed_from_other_threads", HttpCompletedFromOtherThreads),
                Test("http_exception_is_the_inner_exception", HttpExceptionIsTheInnerException),
                Test("calls_from_several_threads_at_once", CallsFromSeveralThreadsAtOnce),
                Test("app_calls_refuse_bad_input", AppFlowTests.AppCallsRefuseBadInput),
                Test("whole_flow_syncs_both_ways", AppFlowTests.WholeFlowSyncsBothWays),
                Test("user_api_acts_for_the_signed_in_user_only", AppFlowTests.UserApiActsForTheSignedInUserOnly),
            };
            int passed = 0, failed = 0;
            foreach (var test in tests)
            {
                try
                {
                    test.Value();
                    passed++;
                    Console.WriteLine("ok   " + test.Key);
                }
                catch (Exception e)
                {
                    failed++;
                    Console.WriteLine("FAIL " + test.Key + ": " + e);
                }
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }

        private static KeyValuePair<string, Action> Test(string name, Action body)
        {
            return new KeyValuePair<string, Action>(name, body);
        }

        private static void Assert(bool condition, string what)
        {
            if (!condition) throw new Exception("assertion failed: " + what);
        }

        private static MsSyncException Throws(Action action)
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

        private static void AbiVersionMatches()
        {
            Assert(MsSyncEngine.AbiVersion == MsSyncEngine.ExpectedAbiVersion, "ABI version");
        }

        private static void TimeZonesComeBackAsJson()
        {
            var json = MsSyncEngine.TimeZonesJson();
            Assert(json.StartsWith("["), "a JSON array");
            Assert(json.Contains("\"id\":\"FLE Standard Time\""), "FLE listed");
            Assert(json.Contains("(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius"), "display name");
        }

        private static void CSharpStorePassesConformance()
        {
            using (var engine = new MsSyncEngine(new HttpClientMsSyncHttp(), new InMemoryStore()))
            {
                MsSyncTestHooks.RunStoreConformance(engine);
            }
        }

        /// <summary>Ignores version expectations: the suite must catch it.</summary>
        private sealed class CarelessStore : InMemoryStore
        {
            public override StoreCommitResult Commit(IList<StoreWrite> writes)
            {
                foreach (var w in writes) w.Expect = StoreExpect.Any;
                return base.Commit(writes);
            }
        }

        private static void BrokenStoreFailsConformance()
        {
            using (var engine = new MsSyncEngine(new HttpClientMsSyncHttp(), new CarelessStore()))
            {
                var e = Throws(() => MsSyncTestHooks.RunStoreConformance(engine));
                Assert(e.StatusCode == 201 && e.StatusName == "store_failure", "status " + e.StatusCode);
                Assert(e.Message.Contains("conformance"), e.Message);
            }
        }

        private sealed class ExplodingStore : InMemoryStore
        {
            public readonly InvalidOperationException Boom = new InvalidOperationException("the disk is on fire");

            public override StoreValue Get(string key)
            {
                throw Boom;
            }
        }

        private static void StoreExceptionIsTheInnerException()
        {
            var store = new ExplodingStore();
            using (var engine = new MsSyncEngine(new HttpClientMsSyncHttp(), store))
            {
                var e = Throws(() => MsSyncTestHooks.RunStoreConformance(engine));
                Assert(e.StatusCode == 201, "store failure status, got " + e.StatusCode);
                Assert(ReferenceEquals(e.InnerException, store.Boom), "inner exception is the thrown one: " + e.InnerException);
                Assert(!e.IsPanic, "not a panic");
            }
        }

        private static void DisposeTwiceIsSafe()
        {
            var engine = new MsSyncEngine(new HttpClientMsSyncHttp(), new InMemoryStore());
            engine.Dispose();
            engine.Dispose();
            try
            {
                MsSyncTestHooks.RunStoreConformance(engine);
                throw new Exception("a disposed engine must refuse calls");
            }
            catch (ObjectDisposedException)
            {
            }
        }

        private static void BadConfigIsATypedError()
        {
            var e = Throws(() => new MsSyncEngine(new HttpClientMsSyncHttp(), new InMemoryStore(), "{not json"));
            Assert(e.StatusCode == 102 && e.StatusName == "invalid_json", "status " + e.StatusCode);
            e = Throws(() => new MsSyncEngine(new HttpClientMsSyncHttp(), new InMemoryStore(), "{\"no_such_setting\": 1}"));
            Assert(e.StatusCode == 102, "unknown setting refused");
        }

        private static void PanicIsATypedError()
        {
            var e = Throws(MsSyncTestHooks.Panic);
            Assert(e.StatusCode == 104 && e.IsPanic, "panic status " + e.StatusCode);
        }

        /// <summary>Records which threads send and which complete.</summary>
        private sealed class RecordingHttp : IMsSyncHttp
        {
            private readonly IMsSyncHttp inner = new HttpClientMsSyncHttp();
            public readonly List<int> CallingThreads = new List<int>();
            public readonly List<int> CompletingThreads = new List<int>();

            public async Task<MsSyncHttpResponse> SendAsync(MsSyncHttpRequest request)
            {
                lock (CallingThreads) CallingThreads.Add(Thread.CurrentThread.ManagedThreadId);
                await Task.Yield(); // let the answer come from a pool thread
                var response = await inner.SendAsync(request).ConfigureAwait(false);
                lock (CompletingThreads) CompletingThreads.Add(Thread.CurrentThread.ManagedThreadId);
                return response;
            }
        }

        private static string Get(MsSyncEngine engine, string path)
        {
            return MsSyncTestHooks.HttpSend(engine,
                "{\"method\":\"GET\",\"url\":\"" + BaseUrl + path + "\",\"headers\":[[\"Accept\",\"text/plain\"]]}");
        }

        private static void HttpCompletedFromOtherThreads()
        {
            var http = new RecordingHttp();
            using (var engine = new MsSyncEngine(http, new InMemoryStore()))
            {
                var response = Get(engine, "/hello.txt");
                Assert(response.Contains("\"status\":200"), response);
                Assert(response.Contains("hello from the loopback server"), response);
                response = Get(engine, "/missing.txt");
                Assert(response.Contains("\"status\":404"), "a 404 is a response: " + response);
            }
            int caller = Thread.CurrentThread.ManagedThreadId;
            Assert(http.CallingThreads.All(t => t == caller), "http_send runs on the calling thread");
            Assert(http.CompletingThreads.Count == 2 && http.CompletingThreads.All(t => t != caller),
                "answers come from other threads");
        }

        private sealed class FailingHttp : IMsSyncHttp
        {
            public readonly Exception Failure = new System.Net.Http.HttpRequestException("connection refused (test)");

            public async Task<MsSyncHttpResponse> SendAsync(MsSyncHttpRequest request)
            {
                await Task.Delay(10);
                throw Failure;
            }
        }

        private static void HttpExceptionIsTheInnerException()
        {
            var http = new FailingHttp();
            using (var engine = new MsSyncEngine(http, new InMemoryStore()))
            {
                var e = Throws(() => Get(engine, "/hello.txt"));
                Assert(e.StatusCode == 202 && e.StatusName == "transport_failure", "status " + e.StatusCode);
                Assert(ReferenceEquals(e.InnerException, http.Failure), "inner exception: " + e.InnerException);
            }
        }

        private static void CallsFromSeveralThreadsAtOnce()
        {
            using (var engine = new MsSyncEngine(new HttpClientMsSyncHttp(), new InMemoryStore()))
            {
                var errors = new List<Exception>();
                var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
                {
                    try
                    {
                        for (int n = 0; n < 5; n++)
                        {
                            var response = Get(engine, "/hello.txt");
                            if (!response.Contains("hello from the loopback server")) throw new Exception(response);
                            if (!MsSyncEngine.TimeZonesJson().Contains("FLE Standard Time")) throw new Exception("zones");
                        }
                    }
                    catch (Exception e)
                    {
                        lock (errors) errors.Add(e);
                    }
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());
                Assert(errors.Count == 0, "no thread failed: " + string.Join("; ", errors));
            }
        }
    }
}
