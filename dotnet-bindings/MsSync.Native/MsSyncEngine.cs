using System;
using System.Runtime.InteropServices;
using System.Text;

namespace MsSync.Native
{
    /// <summary>
    /// One MsSync engine over a host's HTTP and store. Thread-safe: several threads may call it at
    /// once; each call blocks its thread until done. Dispose it once every call has returned.
    /// </summary>
    public sealed partial class MsSyncEngine : IDisposable
    {
        /// <summary>The ABI version these bindings were written for.</summary>
        public const uint ExpectedAbiVersion = 1;

        private readonly EngineHandle handle;

        public MsSyncEngine(IMsSyncHttp http, IMsSyncStore store, string configJson = "{}")
        {
            if (http == null) throw new ArgumentNullException("http");
            if (store == null) throw new ArgumentNullException("store");
            if (AbiVersion != ExpectedAbiVersion)
                throw new InvalidOperationException("libmssync implements ABI " + AbiVersion + ", these bindings expect " + ExpectedAbiVersion);
            var bridge = new HostBridge(http, store);
            var userData = GCHandle.Alloc(bridge);
            var vtable = HostBridge.Vtable(GCHandle.ToIntPtr(userData));
            var config = Encoding.UTF8.GetBytes(configJson ?? "");
            EngineHandle engine;
            ErrorHandle error;
            int status = Native.mss_engine_new(ref vtable, config, (UIntPtr)config.Length, out engine, out error);
            if (status != Native.StatusOk)
            {
                userData.Free(); // on failure the library never calls release
                engine.Dispose();
                MsSyncException.Check(status, error, null);
            }
            error.Dispose();
            bridge.Engine = engine;
            handle = engine;
        }

        /// <summary>The ABI version of the loaded libmssync.</summary>
        public static uint AbiVersion { get { return Native.mss_abi_version(); } }

        /// <summary>The time zones Setup offers, as JSON: [{"id", "display_name", "iana"}, ...].</summary>
        public static string TimeZonesJson()
        {
            return CallForBuffer((ref Native.MssBuffer output, out ErrorHandle error) => Native.mss_time_zones(ref output, out error));
        }

        internal EngineHandle Handle
        {
            get
            {
                if (handle.IsClosed) throw new ObjectDisposedException("MsSyncEngine");
                return handle;
            }
        }

        /// <summary>Frees the engine; the native side then releases the host objects. Safe to call twice.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        internal delegate int StatusCall(out ErrorHandle error);

        internal delegate int BufferCall(ref Native.MssBuffer output, out ErrorHandle error);

        /// <summary>Runs a native call; throws <see cref="MsSyncException"/> with any callback exception inside.</summary>
        internal static void Call(StatusCall call)
        {
            ErrorHandle error = null;
            Exception callbackException;
            int status = CallScope.Run(() => call(out error), out callbackException);
            MsSyncException.Check(status, error, callbackException);
        }

        /// <summary>As <see cref="Call"/>, for calls that fill an MssBuffer with UTF-8 text.</summary>
        internal static string CallForBuffer(BufferCall call)
        {
            var output = new Native.MssBuffer();
            try
            {
                Call((out ErrorHandle error) => call(ref output, out error));
                return HostBridge.Utf8(output.Ptr, output.Len);
            }
            finally
            {
                Native.mss_buffer_free(ref output);
            }
        }
    }

#if MSSYNC_TEST_HOOKS
    /// <summary>The library's test-only entry points (built with the cargo feature test-hooks).</summary>
    public static class MsSyncTestHooks
    {
        /// <summary>Makes the library panic; comes back as an <see cref="MsSyncException"/> with IsPanic.</summary>
        public static void Panic()
        {
            MsSyncEngine.Call((out ErrorHandle error) => Native.mss_test_panic(out error));
        }

        /// <summary>Runs mssync-core's store conformance suite against the engine's host store.</summary>
        public static void RunStoreConformance(MsSyncEngine engine)
        {
            var handle = engine.Handle;
            MsSyncEngine.Call((out ErrorHandle error) => Native.mss_test_store_conformance(handle, out error));
        }

        /// <summary>Sends one request through the engine's host HTTP; returns the response as JSON.</summary>
        public static string HttpSend(MsSyncEngine engine, string requestJson)
        {
            var handle = engine.Handle;
            var request = Encoding.UTF8.GetBytes(requestJson);
            return MsSyncEngine.CallForBuffer((ref Native.MssBuffer output, out ErrorHandle error) =>
                Native.mss_test_http_send(handle, request, (UIntPtr)request.Length, ref output, out error));
        }
    }
#endif
}
