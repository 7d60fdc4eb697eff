using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace MsSync.Native
{
    public sealed class MsSyncHttpRequest
    {
        public string Method { get; set; }
        public string Url { get; set; }
        public IList<KeyValuePair<string, string>> Headers { get; set; }
        public byte[] Body { get; set; }
        /// <summary>Fail with a <see cref="TimeoutException"/> after this long.</summary>
        public TimeSpan Timeout { get; set; }
    }

    public sealed class MsSyncHttpResponse
    {
        public MsSyncHttpResponse()
        {
            Headers = new List<KeyValuePair<string, string>>();
            Body = new byte[0];
        }

        /// <summary>Any HTTP status is a response.</summary>
        public int Status { get; set; }
        public IList<KeyValuePair<string, string>> Headers { get; set; }
        public byte[] Body { get; set; }
    }

    /// <summary>
    /// Sends MsSync's requests. Called on the thread of an engine call; the returned task may complete
    /// on any thread. A faulted task is a transport failure (a <see cref="TimeoutException"/> or a
    /// cancellation counts as a timeout, an <c>HttpRequestException</c> as a connection failure);
    /// the exception comes back as the inner exception of the engine call's <see cref="MsSyncException"/>.
    /// </summary>
    public interface IMsSyncHttp
    {
        Task<MsSyncHttpResponse> SendAsync(MsSyncHttpRequest request);
    }
}
