/**
 * @generated SignedSource<<7ca20ca1b76744cebff237a0d9b0ce50>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ConcreteRequest } from 'relay-runtime';
export type InventoryEventFilter = {
  productIds?: ReadonlyArray<string> | null | undefined;
  skus?: ReadonlyArray<string> | null | undefined;
  variantIds?: ReadonlyArray<string> | null | undefined;
  warehouseIds?: ReadonlyArray<string> | null | undefined;
};
export type RelayChangedSubscription$variables = {
  after?: string | null | undefined;
  filter?: InventoryEventFilter | null | undefined;
};
export type RelayChangedSubscription$data = {
  readonly inventoryChanged: {
    readonly after: {
      readonly onHand: number;
    };
    readonly cursor: string;
  };
};
export type RelayChangedSubscription = {
  response: RelayChangedSubscription$data;
  variables: RelayChangedSubscription$variables;
};

const node: ConcreteRequest = (function(){
var v0 = [
  {
    "defaultValue": null,
    "kind": "LocalArgument",
    "name": "after"
  },
  {
    "defaultValue": null,
    "kind": "LocalArgument",
    "name": "filter"
  }
],
v1 = [
  {
    "alias": null,
    "args": [
      {
        "kind": "Variable",
        "name": "after",
        "variableName": "after"
      },
      {
        "kind": "Variable",
        "name": "filter",
        "variableName": "filter"
      }
    ],
    "concreteType": "InventoryChangedEvent",
    "kind": "LinkedField",
    "name": "inventoryChanged",
    "plural": false,
    "selections": [
      {
        "alias": null,
        "args": null,
        "kind": "ScalarField",
        "name": "cursor",
        "storageKey": null
      },
      {
        "alias": null,
        "args": null,
        "concreteType": "StockSnapshot",
        "kind": "LinkedField",
        "name": "after",
        "plural": false,
        "selections": [
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "onHand",
            "storageKey": null
          }
        ],
        "storageKey": null
      }
    ],
    "storageKey": null
  }
];
return {
  "fragment": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Fragment",
    "metadata": null,
    "name": "RelayChangedSubscription",
    "selections": (v1/*:: as any*/),
    "type": "Subscription",
    "abstractKey": null
  },
  "kind": "Request",
  "operation": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Operation",
    "name": "RelayChangedSubscription",
    "selections": (v1/*:: as any*/)
  },
  "params": {
    "cacheID": "6f09c4827ce0cfdbf0e75c404eff3039",
    "id": null,
    "metadata": {},
    "name": "RelayChangedSubscription",
    "operationKind": "subscription",
    "text": "subscription RelayChangedSubscription(\n  $after: String\n  $filter: InventoryEventFilter\n) {\n  inventoryChanged(after: $after, filter: $filter) {\n    cursor\n    after {\n      onHand\n    }\n  }\n}\n"
  }
};
})();

(node as any).hash = "7a47fda765ca2cfb29668b3fe970d068";

export default node;
