using System;
using System.Runtime.InteropServices;

namespace MsSync.Native
{
    /// <summary>The C ABI of libmssync, as declared in ffi/include/mssync.h. No bool crosses it.</summary>
    internal static partial class Native
    {
        internal const string Library = "mssync";

        [StructLayout(LayoutKind.Sequential)]
        internal struct MssBuffer
        {
            public IntPtr Ptr;
            public UIntPtr Len;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct MssError
        {
            public int Code;
            public IntPtr Message;
            public UIntPtr MessageLen;
            public byte IsPanic;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct MssHttpHeader
        {
            public IntPtr Name;
            public UIntPtr NameLen;
            public IntPtr Value;
            public UIntPtr ValueLen;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct MssHttpRequest
        {
            public IntPtr Method;
            public UIntPtr MethodLen;
            public IntPtr Url;
            public UIntPtr UrlLen;
            public IntPtr Headers;
            public UIntPtr HeaderCount;
            public IntPtr Body;
            public UIntPtr BodyLen;
            public ulong TimeoutMs;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct MssHttpResponse
        {
            public uint Status;
            public IntPtr Headers;
            public UIntPtr HeaderCount;
            public IntPtr Body;
            public UIntPtr BodyLen;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct MssStoreWrite
        {
            public IntPtr Key;
            public UIntPtr KeyLen;
            public byte Kind;
            public byte Expect;
            public ulong ExpectedVersion;
            public IntPtr Value;
            public UIntPtr ValueLen;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct MssHostVtable
        {
            public IntPtr UserData;
            public IntPtr HttpSend;
            public IntPtr StoreGet;
            public IntPtr StoreScan;
            public IntPtr StoreCommit;
            public IntPtr Release;
        }

        internal const int StatusOk = 0;
        internal const int StatusStoreConflict = 200;
        internal const int StatusStoreFailure = 201;
        internal const int StatusTransportFailure = 202;
        internal const byte WriteKindPut = 1;
        internal const byte WriteKindDelete = 2;
        internal const byte ExpectAny = 0;
        internal const byte ExpectAbsent = 1;
        internal const byte ExpectVersion = 2;
        internal const int TransportTimeout = 1;
        internal const int TransportConnection = 2;
        internal const int TransportHost = 3;

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate int HttpSendFn(IntPtr userData, ulong requestId, IntPtr request);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate int StoreReadFn(IntPtr userData, IntPtr key, UIntPtr keyLen, IntPtr reply);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate int StoreCommitFn(IntPtr userData, IntPtr writes, UIntPtr count, IntPtr reply);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void ReleaseFn(IntPtr userData);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint mss_abi_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr mss_status_name(int status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void mss_error_free(IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void mss_buffer_free(ref MssBuffer buffer);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_engine_new(ref MssHostVtable host, byte[] configJson, UIntPtr configJsonLen,
            out EngineHandle engine, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void mss_engine_free(IntPtr engine);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_http_complete(EngineHandle engine, ulong requestId, ref MssHttpResponse response,
            out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_http_fail(EngineHandle engine, ulong requestId, int kind, byte[] message,
            UIntPtr messageLen, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_time_zones(ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_store_reply_set_value(IntPtr reply, byte[] value, UIntPtr valueLen, ulong version,
            IntPtr outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_store_reply_add_entry(IntPtr reply, byte[] key, UIntPtr keyLen, byte[] value,
            UIntPtr valueLen, ulong version, IntPtr outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_store_reply_set_message(IntPtr reply, byte[] message, UIntPtr messageLen,
            IntPtr outError);

#if MSSYNC_TEST_HOOKS
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_test_panic(out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_test_store_conformance(EngineHandle engine, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_test_http_send(EngineHandle engine, byte[] requestJson, UIntPtr requestJsonLen,
            ref MssBuffer output, out ErrorHandle error);
#endif
    }

    /// <summary>Owns one MssEngine*; frees it (and so releases the host) exactly once.</summary>
    internal sealed class EngineHandle : SafeHandle
    {
        private EngineHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            Native.mss_engine_free(handle);
            return true;
        }
    }

    /// <summary>Owns one MssError* returned through out_error.</summary>
    internal sealed class ErrorHandle : SafeHandle
    {
        private ErrorHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            Native.mss_error_free(handle);
            return true;
        }
    }
}
