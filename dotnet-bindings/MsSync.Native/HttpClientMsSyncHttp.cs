using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace MsSync.Native
{
    /// <summary>A sample <see cref="IMsSyncHttp"/> on <see cref="HttpClient"/>.</summary>
    public sealed class HttpClientMsSyncHttp : IMsSyncHttp
    {
        private readonly HttpClient client;

        public HttpClientMsSyncHttp(HttpClient client)
        {
            this.client = client;
        }

        /// <summary>The longest response body read: the engine's own limit (32 MiB).</summary>
        public const long MaxResponseBytes = 32L * 1024 * 1024;

        /// <summary>A client that does not follow redirects (MsSync reads Location itself) and stops
        /// buffering a response body at <see cref="MaxResponseBytes"/>.</summary>
        public HttpClientMsSyncHttp()
            : this(new HttpClient(new HttpClientHandler { AllowAutoRedirect = false })
            {
                Timeout = Timeout.InfiniteTimeSpan,
                MaxResponseContentBufferSize = MaxResponseBytes,
            })
        {
        }

        public async Task<MsSyncHttpResponse> SendAsync(MsSyncHttpRequest request)
        {
            var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Url);
            if (request.Body != null && request.Body.Length > 0) message.Content = new ByteArrayContent(request.Body);
            foreach (var header in request.Headers)
            {
                // Content headers live on the content in System.Net.Http.
                if (!message.Headers.TryAddWithoutValidation(header.Key, header.Value))
                {
                    if (message.Content == null) message.Content = new ByteArrayContent(new byte[0]);
                    message.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }
            using (var timeout = new CancellationTokenSource(request.Timeout))
            {
                HttpResponseMessage response;
                try
                {
                    response = await client.SendAsync(message, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e)
                {
                    throw new TimeoutException("the request timed out", e);
                }
                using (response)
                {
                    var result = new MsSyncHttpResponse { Status = (int)response.StatusCode };
                    IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers = response.Headers;
                    if (response.Content != null) headers = headers.Concat(response.Content.Headers);
                    foreach (var header in headers)
                        foreach (var value in header.Value)
                            result.Headers.Add(new KeyValuePair<string, string>(header.Key, value));
                    if (response.Content != null) result.Body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                    return result;
                }
            }
        }
    }
}
