using System;
using System.Runtime.InteropServices;
using System.Text;

namespace MsSync.Native
{
    /// <summary>
    /// A failed MsSync call: the stable status code (an <c>ErrorCode</c> number of mssync-core), its name,
    /// and whether MsSync panicked. An exception thrown by a host callback during the call is the
    /// <see cref="Exception.InnerException"/>.
    /// </summary>
    public sealed class MsSyncException : Exception
    {
        public MsSyncException(int statusCode, string message, int isPanic, Exception inner)
            : base(message, inner)
        {
            StatusCode = statusCode;
            StatusName = NameOf(statusCode);
            IsPanic = isPanic != 0;
        }

        /// <summary>0 never appears here; see <c>MssStatus</c> in mssync.h for the numbers.</summary>
        public int StatusCode { get; private set; }

        /// <summary>"store_failure", "invalid_json", ...</summary>
        public string StatusName { get; private set; }

        /// <summary>True when the library caught a panic (a bug in MsSync).</summary>
        public bool IsPanic { get; private set; }

        public static string NameOf(int status)
        {
            return Marshal.PtrToStringAnsi(Native.mss_status_name(status)); // ASCII names
        }

        /// <summary>Throws when <paramref name="status"/> is not OK, consuming the native error.</summary>
        internal static void Check(int status, ErrorHandle error, Exception inner)
        {
            using (error)
            {
                if (status == Native.StatusOk) return;
                string message = "MsSync call failed";
                int isPanic = 0;
                if (error != null && !error.IsInvalid)
                {
                    var native = Marshal.PtrToStructure<Native.MssError>(error.DangerousGetHandle());
                    var bytes = new byte[(int)native.MessageLen];
                    Marshal.Copy(native.Message, bytes, 0, bytes.Length);
                    message = Encoding.UTF8.GetString(bytes);
                    isPanic = native.IsPanic;
                }
                throw new MsSyncException(status, NameOf(status) + ": " + message, isPanic, inner);
            }
        }
    }
}
