using System;
using System.Collections.Generic;
using System.Linq;
using MsSync.Native;

namespace MsSync.Native.Tests
{
    /// <summary>A thread-safe in-memory IMsSyncStore: one version counter for the whole store.</summary>
    public class InMemoryStore : IMsSyncStore
    {
        private readonly object gate = new object();
        private readonly Dictionary<string, StoreValue> entries = new Dictionary<string, StoreValue>(StringComparer.Ordinal);
        private ulong lastVersion;

        public virtual StoreValue Get(string key)
        {
            lock (gate)
            {
                StoreValue value;
                return entries.TryGetValue(key, out value) ? value : null;
            }
        }

        public virtual IEnumerable<KeyValuePair<string, StoreValue>> Scan(string prefix)
        {
            lock (gate)
            {
                return entries.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            }
        }

        public virtual StoreCommitResult Commit(IList<StoreWrite> writes)
        {
            lock (gate)
            {
                foreach (var w in writes)
                {
                    StoreValue current;
                    bool exists = entries.TryGetValue(w.Key, out current);
                    if (w.Expect == StoreExpect.Absent && exists) return StoreCommitResult.Conflict;
                    if (w.Expect == StoreExpect.Version && (!exists || current.Version != w.ExpectedVersion))
                        return StoreCommitResult.Conflict;
                }
                foreach (var w in writes)
                {
                    if (w.Kind == StoreWriteKind.Delete) entries.Remove(w.Key);
                    else entries[w.Key] = new StoreValue(w.Value, ++lastVersion);
                }
                return StoreCommitResult.Committed;
            }
        }
    }
}
