/** HTTP replies of the lab Redfish service and the Redfish error body (DSP0266 §9.6). */

/** A reply before it is written. */
export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/**
 * A Redfish error reply: `{ error: { code, message, @Message.ExtendedInfo: [...] } }` with a
 * `Base.1.8` message id.
 */
export function redfishError(status: number, messageId: string, message: string): Reply {
  return {
    status,
    body: {
      error: {
        code: `Base.1.8.${messageId}`,
        message,
        '@Message.ExtendedInfo': [
          {
            '@odata.type': '#Message.v1_1_1.Message',
            MessageId: `Base.1.8.${messageId}`,
            Message: message,
            Severity: 'Critical',
            Resolution: 'None',
          },
        ],
      },
    },
  };
}
