using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace MsSync.Native
{
    /// <summary>
    /// One engine call in progress on this thread: where host callbacks put an exception so the call
    /// can rethrow it as the inner exception of its <see cref="MsSyncException"/>.
    /// </summary>
    internal sealed class CallScope
    {
        [ThreadStatic] private static CallScope current;

        private Exception exception;

        internal Exception Exception { get { return Volatile.Read(ref exception); } }

        internal static CallScope Current { get { return current; } }

        /// <summary>Runs one native call inside a fresh scope.</summary>
        internal static int Run(Func<int> call, out Exception callbackException)
        {
            var scope = new CallScope();
            var outer = current;
            current = scope;
            try
            {
                int status = call();
                callbackException = scope.Exception;
                return status;
            }
            finally
            {
                current = outer;
            }
        }

        /// <summary>Keeps the first exception of the call.</summary>
        internal void Record(Exception e)
        {
            Interlocked.CompareExchange(ref exception, e, null);
        }
    }

    /// <summary>
    /// The static entry points libmssync calls, and the per-engine state behind user_data (a GCHandle,
    /// freed by the native release). Every entry point catches everything: no exception crosses into
    /// native code.
    /// </summary>
    internal sealed class HostBridge
    {
        private static readonly Native.HttpSendFn HttpSendEntry = HttpSend;
        private static readonly Native.StoreReadFn StoreGetEntry = StoreGet;
        private static readonly Native.StoreReadFn StoreScanEntry = StoreScan;
        private static readonly Native.StoreCommitFn StoreCommitEntry = StoreCommit;
        private static readonly Native.ReleaseFn ReleaseEntry = Release;

        private readonly IMsSyncHttp http;
        private readonly IMsSyncStore store;

        /// <summary>Set once the engine exists; completions hold a reference while they run.</summary>
        internal EngineHandle Engine;

        internal HostBridge(IMsSyncHttp http, IMsSyncStore store)
        {
            this.http = http;
            this.store = store;
        }

        internal static Native.MssHostVtable Vtable(IntPtr userData)
        {
            return new Native.MssHostVtable
            {
                UserData = userData,
                HttpSend = Marshal.GetFunctionPointerForDelegate(HttpSendEntry),
                StoreGet = Marshal.GetFunctionPointerForDelegate(StoreGetEntry),
                StoreScan = Marshal.GetFunctionPointerForDelegate(StoreScanEntry),
                StoreCommit = Marshal.GetFunctionPointerForDelegate(StoreCommitEntry),
                Release = Marshal.GetFunctionPointerForDelegate(ReleaseEntry),
            };
        }

        private static HostBridge From(IntPtr userData)
        {
            return (HostBridge)GCHandle.FromIntPtr(userData).Target;
        }

        internal static string Utf8(IntPtr ptr, UIntPtr len)
        {
            return Encoding.UTF8.GetString(Bytes(ptr, len));
        }

        internal static byte[] Bytes(IntPtr ptr, UIntPtr len)
        {
            var bytes = new byte[(int)len];
            if (bytes.Length > 0) Marshal.Copy(ptr, bytes, 0, bytes.Length);
            return bytes;
        }

        private static UIntPtr Len(byte[] bytes)
        {
            return (UIntPtr)bytes.Length;
        }

        /// <summary>A failed store callback: the exception goes to the call, its type name to the log text.</summary>
        private static int StoreFailed(IntPtr reply, Exception e)
        {
            var scope = CallScope.Current;
            if (scope != null) scope.Record(e);
            var text = Encoding.UTF8.GetBytes(e.GetType().FullName);
            Native.mss_store_reply_set_message(reply, text, Len(text), IntPtr.Zero);
            return Native.StatusStoreFailure;
        }

        private static int StoreGet(IntPtr userData, IntPtr key, UIntPtr keyLen, IntPtr reply)
        {
            try
            {
                var value = From(userData).store.Get(Utf8(key, keyLen));
                if (value == null) return Native.StatusOk;
                var bytes = value.Value ?? new byte[0];
                return Native.mss_store_reply_set_value(reply, bytes, Len(bytes), value.Version, IntPtr.Zero);
            }
            catch (Exception e)
            {
                return StoreFailed(reply, e);
            }
        }

        private static int StoreScan(IntPtr userData, IntPtr prefix, UIntPtr prefixLen, IntPtr reply)
        {
            try
            {
                foreach (var entry in From(userData).store.Scan(Utf8(prefix, prefixLen)))
                {
                    var key = Encoding.UTF8.GetBytes(entry.Key);
                    var value = entry.Value.Value ?? new byte[0];
                    int status = Native.mss_store_reply_add_entry(reply, key, Len(key), value, Len(value),
                        entry.Value.Version, IntPtr.Zero);
                    if (status != Native.StatusOk) return status;
                }
                return Native.StatusOk;
            }
            catch (Exception e)
            {
                return StoreFailed(reply, e);
            }
        }

        private static int StoreCommit(IntPtr userData, IntPtr writes, UIntPtr count, IntPtr reply)
        {
            try
            {
                int size = Marshal.SizeOf<Native.MssStoreWrite>();
                var batch = new List<StoreWrite>((int)count);
                for (int i = 0; i < (int)count; i++)
                {
                    var w = Marshal.PtrToStructure<Native.MssStoreWrite>(writes + i * size);
                    batch.Add(new StoreWrite
                    {
                        Key = Utf8(w.Key, w.KeyLen),
                        Kind = (StoreWriteKind)w.Kind,
                        Value = Bytes(w.Value, w.ValueLen),
                        Expect = (StoreExpect)w.Expect,
                        ExpectedVersion = w.ExpectedVersion,
                    });
                }
                return From(userData).store.Commit(batch) == StoreCommitResult.Committed
                    ? Native.StatusOk
                    : Native.StatusStoreConflict;
            }
            catch (Exception e)
            {
                return StoreFailed(reply, e);
            }
        }

        private static int HttpSend(IntPtr userData, ulong requestId, IntPtr requestPtr)
        {
            var scope = CallScope.Current;
            try
            {
                var bridge = From(userData);
                var native = Marshal.PtrToStructure<Native.MssHttpRequest>(requestPtr);
                var request = new MsSyncHttpRequest
                {
                    Method = Utf8(native.Method, native.MethodLen),
                    Url = Utf8(native.Url, native.UrlLen),
                    Headers = new List<KeyValuePair<string, string>>(),
                    Body = Bytes(native.Body, native.BodyLen),
                    Timeout = TimeSpan.FromMilliseconds(native.TimeoutMs),
                };
                int size = Marshal.SizeOf<Native.MssHttpHeader>();
                for (int i = 0; i < (int)native.HeaderCount; i++)
                {
                    var h = Marshal.PtrToStructure<Native.MssHttpHeader>(native.Headers + i * size);
                    request.Headers.Add(new KeyValuePair<string, string>(Utf8(h.Name, h.NameLen), Utf8(h.Value, h.ValueLen)));
                }
                Task<MsSyncHttpResponse> task;
                try
                {
                    task = bridge.http.SendAsync(request);
                }
                catch (Exception e)
                {
                    // Thrown before any task existed: the same path as a faulted task.
                    var failed = new TaskCompletionSource<MsSyncHttpResponse>();
                    failed.SetException(e);
                    task = failed.Task;
                }
                task.ContinueWith(t => bridge.Answer(requestId, t, scope), TaskScheduler.Default);
                return Native.StatusOk;
            }
            catch (Exception e)
            {
                if (scope != null) scope.Record(e);
                return Native.StatusTransportFailure;
            }
        }

        /// <summary>Answers one request from whatever thread the task completed on.</summary>
        private void Answer(ulong requestId, Task<MsSyncHttpResponse> task, CallScope scope)
        {
            var engine = Engine;
            bool added = false;
            try
            {
                engine.DangerousAddRef(ref added); // the engine cannot be freed while we answer
                if (task.Status == TaskStatus.RanToCompletion && task.Result != null)
                {
                    Complete(engine, requestId, task.Result);
                    return;
                }
                Exception e = task.Exception != null ? task.Exception.GetBaseException() : new InvalidOperationException("no response");
                if (scope != null) scope.Record(e);
                int kind = e is TimeoutException || task.IsCanceled ? Native.TransportTimeout
                    : e is HttpRequestException ? Native.TransportConnection
                    : Native.TransportHost;
                var text = Encoding.UTF8.GetBytes(e.GetType().FullName);
                ErrorHandle error;
                Native.mss_http_fail(engine, requestId, kind, text, Len(text), out error);
                error.Dispose();
            }
            catch (ObjectDisposedException)
            {
                // The engine is gone: nobody waits for this answer any more.
            }
            catch (Exception e)
            {
                if (scope != null) scope.Record(e);
            }
            finally
            {
                if (added) engine.DangerousRelease();
            }
        }

        private static void Complete(EngineHandle engine, ulong requestId, MsSyncHttpResponse response)
        {
            var pins = new List<GCHandle>();
            try
            {
                Func<object, IntPtr> pin = o =>
                {
                    var h = GCHandle.Alloc(o, GCHandleType.Pinned);
                    pins.Add(h);
                    return h.AddrOfPinnedObject();
                };
                var headers = new Native.MssHttpHeader[response.Headers.Count];
                for (int i = 0; i < headers.Length; i++)
                {
                    var name = Encoding.UTF8.GetBytes(response.Headers[i].Key);
                    var value = Encoding.UTF8.GetBytes(response.Headers[i].Value);
                    headers[i] = new Native.MssHttpHeader
                    {
                        Name = name.Length > 0 ? pin(name) : IntPtr.Zero,
                        NameLen = Len(name),
                        Value = value.Length > 0 ? pin(value) : IntPtr.Zero,
                        ValueLen = Len(value),
                    };
                }
                var body = response.Body ?? new byte[0];
                var native = new Native.MssHttpResponse
                {
                    Status = (uint)response.Status,
                    Headers = headers.Length > 0 ? pin(headers) : IntPtr.Zero,
                    HeaderCount = (UIntPtr)headers.Length,
                    Body = body.Length > 0 ? pin(body) : IntPtr.Zero,
                    BodyLen = Len(body),
                };
                ErrorHandle error;
                Native.mss_http_complete(engine, requestId, ref native, out error);
                error.Dispose();
            }
            finally
            {
                foreach (var h in pins) h.Free();
            }
        }

        private static void Release(IntPtr userData)
        {
            try
            {
                GCHandle.FromIntPtr(userData).Free();
            }
            catch (Exception)
            {
                // Nothing may cross into native code.
            }
        }
    }
}
