using System.Collections.Generic;

namespace MsSync.Native
{
    /// <summary>A stored value and the version it had when read.</summary>
    public sealed class StoreValue
    {
        public StoreValue(byte[] value, ulong version)
        {
            Value = value;
            Version = version;
        }

        public byte[] Value { get; private set; }
        public ulong Version { get; private set; }
    }

    public enum StoreWriteKind { Put = 1, Delete = 2 }

    public enum StoreExpect { Any = 0, Absent = 1, Version = 2 }

    /// <summary>One write of an atomic batch.</summary>
    public sealed class StoreWrite
    {
        public string Key { get; set; }
        public StoreWriteKind Kind { get; set; }
        /// <summary>The bytes to put; empty for a delete.</summary>
        public byte[] Value { get; set; }
        public StoreExpect Expect { get; set; }
        /// <summary>Meaningful when <see cref="Expect"/> is <see cref="StoreExpect.Version"/>.</summary>
        public ulong ExpectedVersion { get; set; }
    }

    public enum StoreCommitResult { Committed, Conflict }

    /// <summary>
    /// Versioned key-value storage with atomic multi-key commits (the host's database). Called on the
    /// thread of the engine call, from several threads at once: implementations must be thread-safe.
    /// An exception fails the engine call and comes back as the inner exception of its
    /// <see cref="MsSyncException"/>.
    /// </summary>
    public interface IMsSyncStore
    {
        /// <summary>The value of <paramref name="key"/>, or null when it does not exist.</summary>
        StoreValue Get(string key);

        /// <summary>Every key starting with <paramref name="prefix"/>, in any order.</summary>
        IEnumerable<KeyValuePair<string, StoreValue>> Scan(string prefix);

        /// <summary>
        /// Applies the writes in order, all or none. Every expectation is checked against the state
        /// before the batch; one that fails refuses the whole batch (<see cref="StoreCommitResult.Conflict"/>).
        /// Every successful put gives its key a version that key never had before.
        /// </summary>
        StoreCommitResult Commit(IList<StoreWrite> writes);
    }
}
