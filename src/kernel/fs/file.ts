/**
 * files_struct and the fd table, after fs/file.c. Filled in by the fd-table module.
 */
export interface FilesStruct {
  readonly id: number;
}
